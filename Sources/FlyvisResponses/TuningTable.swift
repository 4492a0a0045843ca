import FlyvisBase
import FlyvisHDF5
import FlyvisResults
import Foundation

/// The tuning readout of an ensemble, `<ens>/responses/tuning.h5` and `tuning.txt`: per member
/// and cell type the flash response indices, direction selectivity and preferred direction,
/// and per member the correlations to the known tuning. Dataset names follow flyvis's
/// analysis files. Only the indices of the stimuli that were run are present.
package struct TuningTable: Sendable, Equatable {
    package var members: [String]
    package var checkpoints: [Int]
    package var cellTypes: [String]
    /// The stimuli it was made with (`StimulusRequest.key`), so a stale readout is recomputed.
    package var stimuli = ""
    /// The moving edges' intensities (0 = OFF edge, 1 = ON edge), the last axis of `dsi`.
    package var intensities: [Double] = []
    /// (member, cell type) per flash radius (flyvis's defaults: 6 and −1).
    package var fri: [RadiusFRI] = []
    /// (member, cell type, intensity).
    package var dsi: [Double]?
    package var preferredDirection: [Double]?
    /// (member).
    package var friCorrelationToKnown: [Double]?
    package var dsiCorrelationToKnown: [Double]?

    package init(members: [String], checkpoints: [Int], cellTypes: [String]) {
        self.members = members
        self.checkpoints = checkpoints
        self.cellTypes = cellTypes
    }

    package static let fileName = "tuning.h5"
    package static let textName = "tuning.txt"

    package var hasFlashes: Bool { !fri.isEmpty }

    /// flyvis's dataset name, `fri_radius_6`, `fri_radius_-1` (whole radii without ".0").
    package static func friName(_ radius: Double) -> String {
        radius == radius.rounded() && abs(radius) < 1e15 ? "fri_radius_\(Int(radius))" : "fri_radius_\(radius)"
    }
    package var hasMovingEdges: Bool { dsi != nil }

    /// One member's value of a (member, cell) or (member, cell, intensity) dataset.
    package func value(_ array: [Double]?, member: Int, cell: Int, intensity: Int? = nil) -> Double? {
        guard let array else { return nil }
        let i = intensity.map { (member * cellTypes.count + cell) * intensities.count + $0 } ?? member * cellTypes.count + cell
        return array.indices.contains(i) ? array[i] : nil
    }

    /// Writes both files atomically (tuning.h5 first, then the table).
    package func write(directory: URL) throws {
        try write(file: directory.appendingPathComponent(Self.fileName))
        try AtomicFile.write(directory.appendingPathComponent(Self.textName), text: text())
    }

    /// Writes `tuning.h5` alone (a member's own readout), atomically.
    package func write(file url: URL) throws {
        let (m, c, k) = (members.count, cellTypes.count, intensities.count)
        try AtomicFile.write(url) { tmp in
            let f = try HDF5File(path: tmp, mode: .truncate)
            try f.writeStrings("member", members)
            try f.write("checkpoint", checkpoints.map(Int64.init), shape: [m])
            try f.writeStrings("cell_type", cellTypes)
            for r in fri { try f.write(Self.friName(r.radius), r.values, shape: [m, c]) }
            if !fri.isEmpty { try f.write("radius", fri.map(\.radius), shape: [fri.count]) }
            if let friCorrelationToKnown { try f.write("fri_correlation_to_known", friCorrelationToKnown, shape: [m]) }
            if let dsi {
                try f.write("intensity", intensities, shape: [k])
                try f.write("dsi", dsi, shape: [m, c, k])
            }
            if let preferredDirection { try f.write("preferred_direction", preferredDirection, shape: [m, c, k]) }
            if let dsiCorrelationToKnown { try f.write("dsi_correlation_to_known", dsiCorrelationToKnown, shape: [m]) }
            try f.setAttribute("dims_fri", string: "member,cell_type")
            try f.setAttribute("dims_dsi", string: "member,cell_type,intensity")
            try f.setAttribute("stimuli", string: stimuli)
            try f.close()
        }
    }

    /// Whether this readout was made with `request`'s stimuli.
    package func matches(_ request: StimulusRequest) -> Bool { stimuli == request.key }

    /// Reads a tuning.h5 (ours); nil datasets stay nil.
    package static func read(_ url: URL) throws -> TuningTable {
        guard FileManager.default.fileExists(atPath: url.path) else { throw HDF5Error.fileNotFound(file: url.path) }
        let f = try HDF5File(path: url.path, mode: .readOnly)
        var t = TuningTable(
            members: try f.readStrings("member"),
            checkpoints: try f.read("checkpoint", as: Int64.self).values.map(Int.init),
            cellTypes: try f.readStrings("cell_type"))
        func optional(_ name: String, count: Int) throws -> [Double]? {
            guard f.exists(name) else { return nil }
            let values = try f.read(name, as: Double.self).values
            guard values.count == count else {
                throw HDF5Error.invalidArgument("'\(url.path)': \(name) holds \(values.count) values, expected \(count)")
            }
            return values
        }
        t.stimuli = (try? f.stringAttribute("stimuli")) ?? ""
        let (m, c) = (t.members.count, t.cellTypes.count)
        guard t.checkpoints.count == m else {
            throw HDF5Error.invalidArgument("'\(url.path)': checkpoint holds \(t.checkpoints.count) values for \(m) members")
        }
        t.intensities = f.exists("intensity") ? try f.read("intensity", as: Double.self).values : []
        let k = t.intensities.count
        let radii = f.exists("radius") ? try f.read("radius", as: Double.self).values : []
        t.fri = try radii.map { r in
            RadiusFRI(radius: r, values: try optional(friName(r), count: m * c) ?? [])
        }
        t.friCorrelationToKnown = try optional("fri_correlation_to_known", count: m)
        t.dsi = try optional("dsi", count: m * c * k)
        t.preferredDirection = try optional("preferred_direction", count: m * c * k)
        t.dsiCorrelationToKnown = try optional("dsi_correlation_to_known", count: m)
        return t
    }

    /// The table: one block per member, one row per cell type.
    package func text() -> String {
        var out = "# flyvis tuning readout: flash response index (FRI) at radius 6 and -1, direction selectivity index (DSI)\n"
        out += "# and preferred direction (degrees) of moving ON (intensity 1) and OFF (intensity 0) edges, central cells.\n"
        for (mi, member) in members.enumerated() {
            var line = "member \(member) (checkpoint \(checkpoints[mi]))"
            if let r = friCorrelationToKnown?[mi] { line += String(format: "  fri_correlation_to_known %.4f", r) }
            if let r = dsiCorrelationToKnown?[mi] { line += String(format: "  dsi_correlation_to_known %.4f", r) }
            out += line + "\n"
            var header = "  cell_type   "
            for r in fri {
                header +=
                    "  " + "fri_r\(Self.friName(r.radius).dropFirst("fri_radius_".count))".padding(toLength: 7, withPad: " ", startingAt: 0)
            }
            for x in intensities { header += String(format: "  dsi_i%-3g  pd_i%-3g", x, x) }
            out += header + "\n"
            for (ci, type) in cellTypes.enumerated() {
                var row = "  " + type.padding(toLength: 12, withPad: " ", startingAt: 0)
                for r in fri { row += String(format: "  %7.4f", value(r.values, member: mi, cell: ci) ?? .nan) }
                for k in intensities.indices {
                    let pd = (value(preferredDirection, member: mi, cell: ci, intensity: k) ?? .nan) * 180 / .pi
                    row += String(format: "  %7.4f  %7.1f", value(dsi, member: mi, cell: ci, intensity: k) ?? .nan, pd)
                }
                out += row + "\n"
            }
        }
        return out
    }
}
