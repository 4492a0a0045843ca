import FlyvisHDF5
import FlyvisNetwork
import FlyvisResponses
import FlyvisResults
import FlyvisSolver
import FlyvisTestSupport
import Foundation
import Testing

/// Responses as flyvis's `Network.stimulus_response` computes them, fed the reference file's
/// own stimuli (so that this checks the simulation alone): the central cell of every type,
/// within 1e-5 × the largest |response|, NaN exactly where flyvis's padding made NaN.
@Suite struct StimulusResponseTests {
    static var referenceAvailable: Bool {
        FileManager.default.fileExists(atPath: Fixtures.responses.path)
            && FileManager.default.fileExists(atPath: Fixtures.resultsE15.path)
    }

    /// Member 000 of the extent-15 tree at its best checkpoint, as flyvis's analysis used it.
    static func network() throws -> TrainedNetwork {
        let dir = ResultsDirectory(Fixtures.resultsE15.appendingPathComponent("flow/9995/000"))
        return try TrainedNetwork(directory: dir, checkpoint: .best)
    }

    @Test(.enabled(if: referenceAvailable), arguments: ["flashes", "moving_edge"])
    func centralResponsesMatchFlyvis(_ group: String) throws {
        let trained = try Self.network()
        let network = trained.network
        let f = try Fixtures.open(Fixtures.responses)
        let stimulus: HDF5Array<Float> = try f.read("\(group)/stimulus")
        let reference: HDF5Array<Float> = try f.read("\(group)/responses")
        let dt: Double = try f.attribute("config_dt", on: group)
        let tPre: Double = try f.attribute("config_t_pre", on: group)
        let cellTypes = try f.readStrings("\(group)/cell_type")
        #expect(stimulus.shape.count == 4 && stimulus.shape[2] == 1 && stimulus.shape[3] == network.hexCount)
        let (samples, frames) = (stimulus.shape[0], stimulus.shape[1])
        #expect(reference.shape == [1, samples, frames, cellTypes.count])
        // Cells in the file's order, by type name.
        let cells = try cellTypes.map { name in
            try #require(network.connectome.typeIndex(name).map { network.connectome.centralCellsIndex[$0] })
        }
        let runner = try StimulusResponse(network: network, dt: dt, tPre: tPre, cells: cells, batchSize: 3)
        var ours = [Float](repeating: .infinity, count: samples * frames * cells.count)
        let hexals = network.hexCount
        try runner.run(
            samples: samples, frames: frames,
            render: { i, buffer in
                stimulus.values.withUnsafeBufferPointer { all in
                    _ = buffer.update(fromContentsOf: all[(i * frames * hexals)..<((i + 1) * frames * hexals)])
                }
            },
            body: { range, values in
                let n = frames * cells.count
                for (k, i) in range.enumerated() {
                    ours.replaceSubrange((i * n)..<((i + 1) * n), with: values[(k * n)..<((k + 1) * n)])
                }
            })
        let ref = reference.values
        #expect(ours.count == ref.count && !ref.isEmpty)
        let scale = ref.filter { $0.isFinite }.map { abs($0) }.max() ?? 0
        #expect(scale > 0)
        var worst: Float = 0, nanMismatch = 0
        for i in ref.indices {
            if ref[i].isNaN || ours[i].isNaN {
                if ref[i].isNaN != ours[i].isNaN {
                    if nanMismatch < 5 {
                        print(
                            "mismatch at \(i): ours \(ours[i]) ref \(ref[i]) sample \(i / (frames * cells.count)) frame \(i / cells.count % frames) cell \(i % cells.count)"
                        )
                    }
                    nanMismatch += 1
                }
                continue
            }
            worst = max(worst, abs(ours[i] - ref[i]))
        }
        #expect(nanMismatch == 0, "\(nanMismatch) values are NaN on one side only")
        #expect(worst <= 1e-5 * scale, "max |ours − flyvis| = \(worst), scale \(scale)")
        print("\(group): max |ours − flyvis| = \(worst) (\(worst / scale) of the largest response)")
    }
}
