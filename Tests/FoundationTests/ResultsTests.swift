import FlyvisBase
import FlyvisHDF5
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisResults

@Suite struct ResultsDirectoryTests {
    @Test func datamateLayoutAndAppend() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let net = ResultsDirectory(root.appendingPathComponent("results/flow/0045/000"))
        try net.extend(ResultsSchema.loss, [3.0, 2.5])
        try net.extend(ResultsSchema.loss, [2.0])
        try net.writeScalar(ResultsSchema.bestChkptIndex, Int64(2))
        try net.writeScalar("dt", 0.02)
        try net.split(.validation).extend("iteration", [Int64(0), 3])
        #expect(try net.read(ResultsSchema.loss, as: Double.self).values == [3.0, 2.5, 2.0])
        #expect(try net.read(ResultsSchema.bestChkptIndex, as: Int64.self).shape == [])
        #expect(try net.read("dt", as: Double.self).values == [0.02])
        // Every key file holds exactly one dataset, named data, chunked so h5py can extend it.
        let f = try HDF5File(path: net.file(ResultsSchema.loss).path, mode: .readOnly)
        #expect(try f.children("/") == ["data"])
        try net.truncate(ResultsSchema.loss, to: 1, as: Double.self)
        #expect(try net.read(ResultsSchema.loss, as: Double.self).values == [3.0])
        #expect(net.entries() == ["best_chkpt_index", "dt", "loss", "validation"])
        #expect(throws: ResultsError.self) { _ = try net.read("missing", as: Double.self) }
        // No temporary files are left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: net.path)
        #expect(!names.contains { $0.contains(".tmp-") })
    }

    @Test func failedWriteKeepsThePreviousFile() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let url = root.appendingPathComponent("status.md")
        try AtomicFile.write(url, text: "old")
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try AtomicFile.write(url) { tmp in
                try Data("half".utf8).write(to: URL(fileURLWithPath: tmp))
                throw Boom()
            }
        }
        #expect(try String(contentsOf: url, encoding: .utf8) == "old")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path) == ["status.md"])
    }
}

@Suite struct CheckpointTests {
    func checkpoint(_ k: Int) -> Checkpoint {
        var c = Checkpoint()
        c.network["nodes_bias"] = .float((0..<65).map { Float($0) * 0.01 + Float(k) }, shape: [65])
        var d = StateDict()
        d["base.0.weight"] = .float([Float](repeating: 0.001, count: 8 * 34 * 25), shape: [8, 34, 5, 5])
        d["base.1.num_batches_tracked"] = .int64([Int64(k)], shape: [])
        c.decoder["flow"] = d
        c.optim = OptimizerState(
            kind: .adam, groups: [.init(lr: 1e-3, params: [0])],
            state: [
                0: .init(
                    step: Double(k), expAvg: .float([Float](repeating: 0.5, count: 65), shape: [65]),
                    expAvgSq: .float([Float](repeating: 0.25, count: 65), shape: [65]))
            ])
        c.resume = ResumeState(dataRNG: [1, 2, 3, UInt64(k)], dropoutRNG: ["flow": [5, 6, 7, 8]], epochsDone: k, timeTrained: 1.5)
        c.iteration = k * 10 - 1
        c.valLoss = 1.0 / Double(k + 1)
        c.dt = 0.02
        c.time = "Tue Nov 24 19:45:47 2026"
        return c
    }

    @Test func roundTripAndFallbackPastDamagedCheckpoints() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = CheckpointStore(networkDirectory: ResultsDirectory(root))
        for k in 0..<4 { try store.write(checkpoint(k), index: k) }
        #expect(store.indices() == [0, 1, 2, 3])
        #expect(try store.read(index: 2) == checkpoint(2))
        #expect(store.path(index: 3).lastPathComponent == "chkpt_00003")

        // Truncate the newest and flip payload bytes in the one before.
        let last = store.path(index: 3)
        let data = try Data(contentsOf: last)
        try data.prefix(data.count / 2).write(to: last)
        let third = store.path(index: 2)
        var bytes = try Data(contentsOf: third)
        let needle = Data([Float(2.5)].withUnsafeBytes { Array($0) })
        let at = try #require(bytes.range(of: needle))
        bytes.replaceSubrange(at, with: Data([Float(9.5)].withUnsafeBytes { Array($0) }))
        try bytes.write(to: third)

        let (index, c, skipped) = try store.latestValid()
        #expect(index == 1)
        #expect(c == checkpoint(1))
        #expect(skipped.count == 2)
        #expect(skipped[0].contains("chkpt_00003"))
        #expect(skipped[1].contains("chkpt_00002") && skipped[1].contains("CRC-32"))
    }

    @Test func emptyStoreExplainsWhatToDo() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = CheckpointStore(networkDirectory: ResultsDirectory(root))
        #expect(throws: ResultsError.noValidCheckpoint(directory: root.path, problems: [])) {
            _ = try store.latestValid()
        }
    }
}
