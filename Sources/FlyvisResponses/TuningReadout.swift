import FlyvisStimuli
import FlyvisTuning
import Foundation

/// Turns the reducers' per-member results into the tuning table, and computes one member's
/// readout on its own (the trainer's path: no responses file, only the indices).
package enum TuningReadout {
    /// The reducer for a stimulus set: flashes give FRIs, moving edges DSIs.
    package static func reducer(for set: any StimulusSet, cellTypes: [String]) throws -> any ResponseReducer {
        if set.sampleValues("radius") != nil { return try FlashTuningReducer(set: set, cellTypes: cellTypes) }
        return try MovingEdgeTuningReducer(set: set, cellTypes: cellTypes)
    }

    /// Fills `table` from per-member results of `reducer` (one array per member, in member
    /// order; NaN arrays for members that have none).
    package static func fill(_ table: inout TuningTable, reducer: any ResponseReducer, results: [[Double]]) {
        let c = table.cellTypes.count
        if let flash = reducer as? FlashTuningReducer {
            table.fri = flash.radii.enumerated().map { k, r in
                RadiusFRI(radius: r, values: results.flatMap { Array($0[(k * c)..<((k + 1) * c)]) })
            }
            table.friCorrelationToKnown = flash.radii.contains(6) ? results.map { $0[flash.radii.count * c] } : nil
        } else if let edge = reducer as? MovingEdgeTuningReducer {
            let n = c * edge.intensities.count
            table.intensities = edge.intensities
            table.dsi = results.flatMap { Array($0[0..<n]) }
            table.preferredDirection = results.flatMap { Array($0[n..<(2 * n)]) }
            table.dsiCorrelationToKnown = edge.intensities.count == 2 ? results.map { $0[2 * n] } : nil
        }
    }

    /// One member's tuning table at its chosen checkpoint, from `sets` (rendered on its
    /// lattice), computed serially without writing responses.
    package static func compute(
        member: ResponsesMember, sets: [any StimulusSet], stimuli: String = "", threads: Int = 1, batchSize: Int = 4,
        shouldStop: () -> Bool = { false }
    ) throws -> TuningTable {
        let network = try member.network(threads: threads).network
        let cells = try CellCoordinates(.central, connectome: network.connectome)
        var table = TuningTable(
            members: [member.name], checkpoints: [member.checkpointIndex],
            cellTypes: network.connectome.cellTypes)
        table.stimuli = stimuli
        for set in sets {
            var reducer = try reducer(for: set, cellTypes: table.cellTypes)
            let runner = try StimulusResponse(network: network, dt: set.dt, cells: cells.nodes, batchSize: batchSize)
            try runner.run(
                samples: set.sampleCount, frames: set.frameCount,
                render: { i, buffer in try set.render(sample: i, into: buffer) },
                shouldStop: shouldStop
            ) { range, values in
                try reducer.add(samples: range, values: values, cells: cells)
            }
            fill(&table, reducer: reducer, results: [try reducer.result()])
        }
        return table
    }

    /// Concatenates members' tables (same cell types and stimuli) in the given order.
    package static func merge(_ tables: [TuningTable]) throws -> TuningTable {
        guard let first = tables.first else { throw ResponsesError.invalidParameter("no tuning readouts to merge") }
        var out = TuningTable(
            members: tables.flatMap(\.members), checkpoints: tables.flatMap(\.checkpoints),
            cellTypes: first.cellTypes)
        out.intensities = first.intensities
        out.stimuli = first.stimuli
        for t in tables
        where t.cellTypes != first.cellTypes || t.intensities != first.intensities
            || t.fri.map(\.radius) != first.fri.map(\.radius) || t.hasMovingEdges != first.hasMovingEdges
        {
            throw ResponsesError.invalidParameter(
                "member \(t.members.first ?? "?")'s tuning readout was made with other stimuli or cell types than member \(first.members.first ?? "?")'s; recompute it"
            )
        }
        out.fri = first.fri.indices.map { k in RadiusFRI(radius: first.fri[k].radius, values: tables.flatMap { $0.fri[k].values }) }
        func joined(_ key: KeyPath<TuningTable, [Double]?>) -> [Double]? {
            tables.allSatisfy { $0[keyPath: key] != nil } ? tables.flatMap { $0[keyPath: key]! } : nil
        }
        out.friCorrelationToKnown = joined(\.friCorrelationToKnown)
        out.dsi = joined(\.dsi)
        out.preferredDirection = joined(\.preferredDirection)
        out.dsiCorrelationToKnown = joined(\.dsiCorrelationToKnown)
        return out
    }
}
