import FlyvisBase
import FlyvisConfig
import FlyvisHDF5
import FlyvisResults
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisSolver

/// Small, fast runs: extent 4, a small built-in data set, batch 2.
enum Small {
    static let root = FileManager.default.temporaryDirectory.appendingPathComponent("flyvis-solver-tests-\(UUID().uuidString)")
    static let base = ["task_name=flow"] + TinyConfig.overrides(checkpointEveryEpoch: 2)

    static func config(_ id: String, _ extra: [String] = []) throws -> Config {
        try Config.load(overrides: base + ["ensemble_and_network_id=\(id)"] + extra)
    }

    static func solver(_ id: String, _ extra: [String] = [], resume: Bool = false) throws -> MultiTaskSolver {
        try MultiTaskSolver(config: config(id, extra), root: root, resume: resume, log: TrainingLog(echoToStderr: false))
    }

    static func history(_ id: String, _ key: String) throws -> [Double] {
        try ResultsDirectory(root.appendingPathComponent("results/flow/\(id)")).read(key, as: Double.self).values
    }
}

@Suite(.serialized) struct SolverTests {
    @Test func resultsTreeHasEveryFileWithTheRightShapes() throws {
        let s = try Small.solver("0101/000", ["task.n_iters=27"])
        try s.train()
        let d = s.directory
        let n = s.iteration
        #expect(n == 27)
        for key in ResultsSchema.histories + [ResultsSchema.taskLoss("flow")] {
            let a: HDF5Array<Double> = try d.read(key)
            #expect(a.shape == [n], "\(key)")
            let f = try HDF5File(path: d.file(key).path, mode: .readOnly)
            #expect(try f.children("/") == ["data"] && f.elementType("data") == "float64")
        }
        let chkpts = CheckpointStore(networkDirectory: d).indices()
        #expect(chkpts == [0, 1, 2], "initial, epoch 0, last epoch")
        #expect(try d.read(ResultsSchema.chkptIndex, as: Int64.self).values == [0, 1, 2])
        #expect(try d.read(ResultsSchema.chkptIter, as: Int64.self).values == [-1, 8, 26])
        #expect(try d.read(ResultsSchema.bestChkptIndex, as: Int64.self).shape == [])
        #expect(try d.read("dt", as: Double.self).values == [0.02])
        #expect(try d.read(ResultsSchema.timeTrained, as: Double.self).values[0] > 0)
        for sub in ResultsSchema.Split.allCases.map(\.folder) {
            let v = d.subdirectory(sub)
            #expect(try v.read(ResultsSchema.loss, as: Double.self).shape == [3], "\(sub)")
            #expect(try v.read(ResultsSchema.taskLoss("flow"), as: Double.self).shape == [3], "\(sub)")
            #expect(try v.read("iteration", as: Int64.self).values == [0, 9, 27], "\(sub)")
        }
        let meta = try #require(try d.readMeta())
        #expect(meta.hasPrefix("config:\n  type: NetworkDir\n  network_name: flow/0101/000\n"))
        #expect(meta.contains("status: done"))
        // The best checkpoint is the argmin of validation/loss.
        let losses = try d.split(.validation).read(ResultsSchema.loss, as: Double.self).values
        #expect(try d.read(ResultsSchema.bestChkptIndex, as: Int64.self).values[0] == Int64(losses.firstIndex(of: losses.min()!)!))
    }

    @Test func resumeContinuesBitForBit() throws {
        let whole = try Small.solver("0102/000", ["task.n_iters=54"])
        try whole.train()
        // Interrupted after two checkpoints (as SIGTERM would), then a new process resumes.
        // n_iters must stay the same: flyvis's schedules are functions of it.
        let first = try Small.solver("0102/001", ["task.n_iters=54"])
        var hooks = TrainingHooks()
        var checkpoints = 0
        hooks.afterCheckpoint = { _, _, _, _, _ in checkpoints += 1 }
        hooks.stopRequested = { checkpoints >= 2 }
        #expect(try first.train(hooks: hooks) == .interrupted)
        let resumed = try Small.solver("0102/001", ["task.n_iters=54", "description=resumed"], resume: true)
        #expect(resumed.iteration == first.iteration && resumed.iteration < 54)
        try resumed.train()
        for key in ResultsSchema.histories + [ResultsSchema.taskLoss("flow")] {
            #expect(try Small.history("0102/000", key) == Small.history("0102/001", key), "\(key) identical after resume")
        }
        #expect(resumed.network.parameters == whole.network.parameters)
        #expect(try Small.history("0102/001", "loss").count == 54)
    }

    @Test func truncatedLatestCheckpointFallsBackToThePreviousOne() throws {
        let whole = try Small.solver("0103/000", ["task.n_iters=45"])
        try whole.train()
        let partial = try Small.solver("0103/001", ["task.n_iters=45", "scheduler.chkpt_every_epoch=1"])
        // Train 3 epochs, then damage the newest checkpoint as a crash mid-write would.
        var hooks = TrainingHooks()
        var epochs = 0
        hooks.afterCheckpoint = { _, _, _, _, _ in epochs += 1 }
        hooks.stopRequested = { epochs >= 3 }
        #expect(try partial.train(hooks: hooks) == .interrupted)
        let store = CheckpointStore(networkDirectory: partial.directory)
        let last = try #require(store.indices().last)
        let data = try Data(contentsOf: store.path(index: last))
        try data.prefix(data.count / 3).write(to: store.path(index: last))
        let log = TrainingLog(echoToStderr: false)
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(UUID().uuidString).log")
        log.addFile(logFile)
        let resumed = try MultiTaskSolver(
            config: Small.config("0103/001", ["task.n_iters=45", "scheduler.chkpt_every_epoch=1"]),
            root: Small.root, resume: true, log: log)
        let text = try String(contentsOf: logFile, encoding: .utf8)
        #expect(text.contains("WARNING") && text.contains("chkpt_\(String(format: "%05d", last))"))
        #expect(resumed.checkpointIndex == last - 1)
        try resumed.train()
        #expect(try Small.history("0103/000", "loss") == Small.history("0103/001", "loss"))
    }

    @Test func divergenceFailsCleanlyAndKeepsCheckpoints() throws {
        let s = try Small.solver("0104/000", ["task.n_iters=30", "scheduler.lr_net.start=1e4", "scheduler.lr_dec.start=1e4"])
        #expect(throws: SolverError.self) { try s.train() }
        do { try s.train() } catch { #expect("\(error)".contains("OverflowError")) }
        let store = CheckpointStore(networkDirectory: s.directory)
        #expect(!store.indices().isEmpty)
        for i in store.indices() { _ = try store.read(index: i) }
    }

    @Test func damagedHistoriesAreRepairedOnResume() throws {
        let extra = ["task.n_iters=45", "scheduler.chkpt_every_epoch=1"]
        let s = try Small.solver("0109/000", extra)
        var hooks = TrainingHooks()
        var epochs = 0
        hooks.afterCheckpoint = { _, _, _, _, _ in epochs += 1 }
        hooks.stopRequested = { epochs >= 3 }
        #expect(try s.train(hooks: hooks) == .interrupted)
        let d = s.directory
        let index = try d.read(ResultsSchema.chkptIndex, as: Int64.self).values
        let iters = try d.read(ResultsSchema.chkptIter, as: Int64.self).values
        let val = try d.split(.validation).read(ResultsSchema.loss, as: Double.self).values
        #expect(index.count >= 3 && val.count == index.count)
        // A deleted index, a short validation history (as a full disk once left them).
        try FileManager.default.removeItem(at: d.file(ResultsSchema.chkptIndex))
        try d.split(.validation).write(ResultsSchema.loss, Array(val.prefix(1)))
        try d.write(ResultsSchema.chkptIter, Array(iters.prefix(2)))
        let resumed = try Small.solver("0109/000", extra, resume: true)
        #expect(try d.read(ResultsSchema.chkptIndex, as: Int64.self).values == index)
        #expect(try d.read(ResultsSchema.chkptIter, as: Int64.self).values == iters)
        #expect(try d.split(.validation).read(ResultsSchema.loss, as: Double.self).values == val, "rebuilt from the checkpoints' val_loss")
        #expect(resumed.bestCheckpoint == Int(index[val.indices.min { val[$0] < val[$1] }!]))
        try resumed.train()
        let after = try d.read(ResultsSchema.chkptIndex, as: Int64.self).values
        #expect(after == (0..<Int64(after.count)).map { $0 } && after.count > index.count)
        #expect(try d.split(.validation).read(ResultsSchema.loss, as: Double.self).values.count == after.count)
    }

    @Test func progressLinesBetweenCheckpoints() throws {
        let log = TrainingLog(echoToStderr: false)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("progress-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: file) }
        log.addFile(file)
        let s = try MultiTaskSolver(
            config: Small.config("0108/000", ["task.n_iters=9", "scheduler.chkpt_every_epoch=100"]),
            root: Small.root, resume: false, log: log)
        s.progressInterval = 0  // every iteration
        try s.train()
        let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").filter { $0.contains("it/s, ETA") }
        // One per iteration, plus the line at each checkpoint (here: the first and last epochs').
        #expect(lines.count >= s.iteration, "\(lines.count) progress lines for \(s.iteration) iterations")
        #expect(lines.contains { $0.contains("Iteration 1/9") })
    }

    @Test func penaltyOnAMisspeltParameterIsAConfigError() throws {
        // Used to reach the optimizer and stop the process with a precondition failure.
        do {
            _ = try Small.solver(
                "0110/000",
                [
                    "+network.node_config.biass.penalize.function=weight_decay",
                    "+network.node_config.biass.penalize.kwargs.lambda=0.1",
                ])
            Issue.record("a penalty on an unknown parameter was accepted")
        } catch {
            #expect("\(error)".contains("network.node_config.biass") && "\(error)".contains("bias, time_const"), "\(error)")
        }
    }

    @Test func existingDirectoryAndIncompatibleResumeAreRefused() throws {
        let s = try Small.solver("0105/000", ["task.n_iters=9"])
        try s.train()
        #expect(throws: SolverError.directoryExists(path: s.directory.path, checkpoints: 2)) {
            _ = try Small.solver("0105/000", ["task.n_iters=9"])
        }
        do {
            _ = try Small.solver("0105/000", ["task.n_iters=9", "task.dataset.p_flip=0.1"], resume: true)
            Issue.record("an incompatible resume must fail")
        } catch {
            #expect("\(error)".contains("task.dataset.p_flip: 0.5 → 0.1"))
        }
        let fresh = try Small.solver("0105/000", ["task.n_iters=9", "delete_if_exists=true"])
        #expect(fresh.iteration == 0 && CheckpointStore(networkDirectory: fresh.directory).indices().isEmpty)
        // Without task_name the solver names that key instead of writing results/???/...
        let noTask = try Config.load(overrides: Array(Small.base.dropFirst()) + ["ensemble_and_network_id=0105/001"])
        #expect(throws: ConfigError.missingValue(key: "task_name")) {
            _ = try MultiTaskSolver(config: noTask, root: Small.root, resume: false, log: TrainingLog(echoToStderr: false))
        }
        #expect(!FileManager.default.fileExists(atPath: Small.root.appendingPathComponent("results/???").path))
    }

    @Test func trainingLowersTheValidationLoss() throws {
        // A higher decoder learning rate lets a few hundred iterations show progress.
        let s = try Small.solver("0106/000", ["task.n_iters=270", "scheduler.chkpt_every_epoch=10", "scheduler.lr_dec.start=1e-2"])
        try s.train()
        let v = try s.directory.split(.validation).read(ResultsSchema.loss, as: Double.self).values
        #expect(v.min()! < 0.98 * v.first!, "validation loss \(v)")
    }

    @Test func validateAllCheckpointsWritesL2normAndEpe() throws {
        let s = try Small.solver("0107/000", ["task.n_iters=18"])
        try s.train()
        let (l2, epe) = try s.validateAllCheckpoints()
        #expect(l2.count == CheckpointStore(networkDirectory: s.directory).indices().count)
        #expect(try s.directory.split(.validation).read(ResultsSchema.epe, as: Double.self).values == epe)
        #expect(epe.allSatisfy { $0 > 0 && $0.isFinite })

        // A damaged checkpoint is skipped, as the log says, with NaN in its place; the others
        // are still validated (this used to abort the whole validation).
        let store = CheckpointStore(networkDirectory: s.directory)
        let damaged = store.path(index: 1)
        let bytes = try Data(contentsOf: damaged)
        try bytes.prefix(bytes.count / 2).write(to: damaged)
        let (l2b, epeb) = try s.validateAllCheckpoints()
        #expect(l2b.count == l2.count && epeb.count == epe.count)
        #expect(l2b[1].isNaN && epeb[1].isNaN)
        #expect(l2b.indices.filter { $0 != 1 }.allSatisfy { l2b[$0] == l2[$0] && epeb[$0] == epe[$0] })
    }
}
