import FlyvisEnsemble
import FlyvisResults
import FlyvisTestSupport
import Foundation
import Testing

/// Stop requests (SIGTERM, SIGUSR1) end with status 75 wherever the run is, including the
/// validation of every checkpoint after training, which at full size can outlast SLURM's
/// grace period; the rerun finishes what was left.
@Suite(.serialized) struct StopRequestTests {
    @Test(arguments: [SIGTERM, SIGUSR1])
    func stopDuringPostTrainingValidationExits75AndTheRerunFinishesIt(signal: Int32) throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = root.appendingPathComponent("results/flow/0001/000")
        let args =
            ["train-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=0001/000", "task.n_iters=90"] + Tiny.base
        let job = try launch(flyvisBinary, args)
        defer { if job.isRunning { kill(job.processIdentifier, SIGKILL); job.waitUntilExit() } }
        // Wait until the first checkpoint is validated (11 checkpoints to go through).
        let log = member.appendingPathComponent("train.log")
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline && job.isRunning {
            if let text = try? String(contentsOf: log, encoding: .utf8), text.contains("Checkpoint 0: l2norm") { break }
            usleep(10_000)
        }
        try #require(job.isRunning, "the run ended before the stop request could be sent")
        let t0 = Date()
        kill(job.processIdentifier, signal)
        job.waitUntilExit()
        #expect(job.terminationReason == .exit && job.terminationStatus == 75, "exit \(job.terminationStatus)")
        #expect(Date().timeIntervalSince(t0) < 30, "stopped between two checkpoints' validations")
        #expect(MemberStatus.read(from: ResultsDirectory(member))?.state == .interrupted)
        let d = ResultsDirectory(member).split(.validation)
        let partial = try d.read(ResultsSchema.l2norm, as: Double.self).values
        #expect(!partial.isEmpty && partial.count < 11, "validated so far: \(partial.count) of 11")

        // The rerun validates the rest only; the result is what a full validation gives.
        let rerun = try runFlyvisBounded(
            [
                "train-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=0001/000",
                "resume=true",
            ], seconds: 300)
        #expect(rerun.status == 0, "\(rerun.output.suffix(2000))")
        #expect(rerun.output.contains("Validating checkpoints \(partial.count)…10"), "\(rerun.output.suffix(2000))")
        let l2 = try d.read(ResultsSchema.l2norm, as: Double.self).values, epe = try d.read(ResultsSchema.epe, as: Double.self).values
        #expect(l2.count == 11 && epe.count == 11 && l2.allSatisfy(\.isFinite) && epe.allSatisfy(\.isFinite))
        #expect(MemberStatus.read(from: ResultsDirectory(member))?.state == .finished)
        let full = try runFlyvisBounded(
            ["val-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=0001/000"], seconds: 300)
        #expect(full.status == 0, "\(full.output.suffix(2000))")
        #expect(try d.read(ResultsSchema.l2norm, as: Double.self).values == l2, "continued validation equals a full one")
        #expect(try d.read(ResultsSchema.epe, as: Double.self).values == epe)
    }
}

/// A stop request while the data set is prepared: the run generating it stops between scenes,
/// one waiting for another process's rendering stops waiting; both exit 75 at once, train
/// nothing and cache nothing (at full size rendering Sintel takes minutes).
@Suite(.serialized) struct StopWhilePreparingDataTests {
    @Test func stopWhileTheDataSetIsPreparedExits75AtOnce() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        func start(_ member: String) throws -> Process {
            try launch(
                flyvisBinary,
                [
                    "train-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=0001/\(member)",
                    "task.n_iters=9",
                ] + Tiny.base + ["task.dataset.builtin.scenes=400"])
        }
        func waitFor(_ text: String, in member: String, _ job: Process) throws {
            let log = root.appendingPathComponent("results/flow/0001/\(member)/train.log")
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline && job.isRunning {
                if let t = try? String(contentsOf: log, encoding: .utf8), t.contains(text) { return }
                usleep(20_000)
            }
            throw TestSetupError("member \(member) never logged '\(text)'")
        }
        func stop(_ job: Process) -> TimeInterval {
            let t0 = Date()
            kill(job.processIdentifier, SIGTERM)
            job.waitUntilExit()
            return Date().timeIntervalSince(t0)
        }
        let generating = try start("000")
        defer { if generating.isRunning { kill(generating.processIdentifier, SIGKILL); generating.waitUntilExit() } }
        try waitFor("Generating the built-in synthetic", in: "000", generating)
        let waiting = try start("001")
        defer { if waiting.isRunning { kill(waiting.processIdentifier, SIGKILL); waiting.waitUntilExit() } }
        try waitFor("Initialized network", in: "001", waiting)
        usleep(500_000)  // now waiting on the rendering's lock
        try #require(generating.isRunning, "the rendering finished before the test could stop it")

        let waited = stop(waiting)
        #expect(waiting.terminationReason == .exit && waiting.terminationStatus == 75, "exit \(waiting.terminationStatus)")
        #expect(waited < 10, "the waiting run stopped at once (\(waited) s)")
        #expect(generating.isRunning, "the rendering run goes on")
        let rendered = stop(generating)
        #expect(generating.terminationReason == .exit && generating.terminationStatus == 75, "exit \(generating.terminationStatus)")
        #expect(rendered < 20, "the rendering run stopped between scenes (\(rendered) s)")

        let renderings = (try? FileManager.default.subpathsOfDirectory(atPath: root.appendingPathComponent("renderings").path)) ?? []
        #expect(!renderings.contains { $0.hasSuffix("sequences.h5") }, "nothing cached: \(renderings)")
        for m in ["000", "001"] {
            let d = ResultsDirectory(root.appendingPathComponent("results/flow/0001/\(m)"))
            #expect(MemberStatus.read(from: d)?.state == .interrupted, "member \(m)")
            #expect(CheckpointStore(networkDirectory: d).indices().isEmpty, "member \(m) trained nothing")
        }
    }
}
