import FlyvisResults
import FlyvisTestSupport
import Foundation
import Testing

/// One writer per member directory.
@Suite(.serialized) struct MemberLockTests {
    /// Two `train-single` runs on the same member: the second fails at once naming the first's
    /// host and PID, and the lock goes with the first when it is killed (-9, no clean-up).
    @Test func secondWriterFailsAtOnceAndKill9ReleasesTheLock() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = root.appendingPathComponent("results/flow/0005/000")
        let args =
            [
                "train-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=0005/000",
                "task.n_iters=100000", "resume=true",
            ] + Tiny.base

        let first = Process()
        first.executableURL = URL(fileURLWithPath: flyvisBinary)
        first.arguments = args
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL); first.waitUntilExit() } }

        // Wait until the first run has recorded itself in the lock file.
        let lockFile = member.appendingPathComponent(MemberLock.fileName)
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if let text = try? String(contentsOf: lockFile, encoding: .utf8), text.contains("pid: \(first.processIdentifier)\n") { break }
            #expect(first.isRunning, "the first run ended early")
            Thread.sleep(forTimeInterval: 0.05)
        }

        let t0 = Date()
        // (A short run: against a build without the lock it completes, and the test fails.)
        let second = try runFlyvis(args + ["task.n_iters=6"])
        let seconds = Date().timeIntervalSince(t0)
        #expect(second.status != 0 && !second.signaled, "\(second.output)")
        #expect(second.stderr.contains("is in use by another run"), "\(second.output)")
        #expect(second.stderr.contains("host \(thisHost), PID \(first.processIdentifier)"), "\(second.output)")
        #expect(seconds < 30, "refused at once, not after data generation (\(seconds) s)")
        #expect(first.isRunning, "the holder is unaffected")

        // kill -9: the kernel drops the lock with the process.
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let lock = try MemberLock(directory: member)
        lock.release()
    }

    /// An ensemble job (here without mpirun: one rank) on a member a `train-single` holds
    /// reports the member failed with the same message, and leaves the holder's status alone.
    @Test func ensembleMemberHeldByAnotherRunIsReported() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = root.appendingPathComponent("results/flow/0006/000")
        let first = Process()
        first.executableURL = URL(fileURLWithPath: flyvisBinary)
        first.arguments =
            [
                "train-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=0006/000",
                "task.n_iters=100000", "resume=true",
            ] + Tiny.base
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL); first.waitUntilExit() } }
        let lockFile = member.appendingPathComponent(MemberLock.fileName)
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if let text = try? String(contentsOf: lockFile, encoding: .utf8), text.contains("pid: \(first.processIdentifier)\n") { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let r = try runFlyvis(["--ensemble-id", "6", "--start", "0", "--end", "1", "--root", root.path, "task.n_iters=4"] + Tiny.base)
        #expect(r.status != 0 && !r.signaled, "\(r.output)")
        #expect(r.output.contains("is in use by another run"), "\(r.output)")
        #expect(r.output.contains("PID \(first.processIdentifier)"), "\(r.output)")
        #expect(first.isRunning)
        let status = (try? String(contentsOf: member.appendingPathComponent(ResultsSchema.status), encoding: .utf8)) ?? ""
        #expect(!status.contains("failed"), "the holder's status is not overwritten as failed: \(status)")
    }

    @Test func lockFileIsHiddenFromEntries() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lock = try MemberLock(directory: dir)
        defer { lock.release() }
        #expect(ResultsDirectory(dir).entries().isEmpty)
        let text = try String(contentsOf: dir.appendingPathComponent(MemberLock.fileName), encoding: .utf8)
        #expect(text.contains("host: \(thisHost)\n") && text.contains("pid: \(getpid())\n"))
    }
}
