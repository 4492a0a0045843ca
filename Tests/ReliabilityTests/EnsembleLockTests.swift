import FlyvisEnsemble
import FlyvisHDF5
import FlyvisResults
import FlyvisTestSupport
import Foundation
import Testing

/// One job per ensemble, and summaries that come from the member directories.
@Suite(.serialized) struct EnsembleLockTests {
    static let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "mpirun"

    /// A second identical `mpirun` job started while the first runs fails at once, naming the
    /// first one's host and PID, and writes nothing: the first job trains every member, exits
    /// 0, and its summary, ranking and status table call no member failed.
    @Test func secondJobOnOneEnsembleFailsAtOnceNamingTheHolder() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let job =
            [
                "-k", "10", "600", Self.mpirun, "--allow-run-as-root", "--oversubscribe", "-n", "2", flyvisBinary,
                "--ensemble-id", "14", "--start", "0", "--end", "4", "--root", root.path, "--skip-validation",
            ]
            + Tiny.base + ["task.n_iters=90"]
        let first = try launch("/usr/bin/timeout", job)
        defer { if first.isRunning { kill(first.processIdentifier, SIGTERM); first.waitUntilExit() } }
        let ens = ResultsDirectory(root.appendingPathComponent("results/flow/0014"))
        let lockFile = ens.url.appendingPathComponent(ResultsSchema.ensembleLock)
        var holder: String?
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && holder == nil && first.isRunning {
            let text = (try? String(contentsOf: lockFile, encoding: .utf8)) ?? ""
            holder = text.split(separator: "\n").first { $0.hasPrefix("pid: ") }.map { String($0.dropFirst(5)) }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let pid = try #require(holder, "the first job never recorded itself in \(lockFile.path)")

        let t0 = Date()
        let second = try runProcess("/usr/bin/timeout", job)
        let seconds = Date().timeIntervalSince(t0)
        #expect(first.isRunning, "the first job still ran when the second was refused")
        #expect(second.status == 1 && !second.signaled, "exit status \(second.shellStatus)\n\(second.output.suffix(3000))")
        #expect(
            second.stderr.contains("is being trained by another job (held by host \(thisHost), PID \(pid)"),
            "\(second.stderr.suffix(2000))")
        #expect(!second.stdout.contains("training members"), "refused before it starts: \(second.stdout.suffix(2000))")
        #expect(seconds < 60, "refused at once (\(seconds) s)")

        first.waitUntilExit()
        #expect(first.terminationStatus == 0, "the first job is not disturbed")
        for m in 0..<4 { #expect(MemberStatus.read(from: ens.member(m))?.state == .finished, "member \(m)") }
        let f = try HDF5File(path: ens.url.appendingPathComponent(ResultsSchema.ensembleSummary).path, mode: .readOnly)
        #expect(try f.readStrings("state") == Array(repeating: "finished", count: 4))
        #expect(try f.readStrings("error") == Array(repeating: "", count: 4))
        for name in [ResultsSchema.ranking, ResultsSchema.ensembleStatus] {
            let text = try String(contentsOf: ens.url.appendingPathComponent(name), encoding: .utf8)
            #expect(!text.contains("failed"), "\(name):\n\(text)")
        }
    }

    /// A rerun refused for a finished member (another learning rate) exits 1 naming the
    /// difference, but the summary it writes reads the member directory: finished.
    @Test func summaryOfARefusedRerunKeepsFinishedMembersFinished() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let args = ["--ensemble-id", "15", "--start", "0", "--end", "1", "--root", root.path, "--skip-validation"] + Tiny.base
        let first = try runFlyvis(args + ["task.n_iters=6"])
        try #require(first.status == 0, "\(first.output.suffix(2000))")
        let refused = try runFlyvis(args + ["task.n_iters=6", "scheduler.lr_net.start=0.005"])
        #expect(refused.status == 1, "\(refused.output.suffix(2000))")
        #expect(refused.stdout.contains("NOT RUN by this job"), "\(refused.stdout.suffix(2000))")
        #expect(refused.output.contains("scheduler.lr_net.start"))
        let ens = ResultsDirectory(root.appendingPathComponent("results/flow/0015"))
        let f = try HDF5File(path: ens.url.appendingPathComponent(ResultsSchema.ensembleSummary).path, mode: .readOnly)
        #expect(try f.readStrings("state") == ["finished"])
        let ranking = try String(contentsOf: ens.url.appendingPathComponent(ResultsSchema.ranking), encoding: .utf8)
        #expect(!ranking.contains("failed"), "\(ranking)")
    }

    /// In process: the lock excludes another process only; the file names the holder.
    @Test func ensembleLockRecordsItsHolder() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lock = try EnsembleLock(ensembleDirectory: ResultsDirectory(dir)) { Issue.record("unexpected warning \($0)") }
        defer { lock.release() }
        let text = try String(contentsOf: dir.appendingPathComponent(ResultsSchema.ensembleLock), encoding: .utf8)
        #expect(text.contains("host: \(thisHost)\n") && text.contains("pid: \(getpid())\n"))
        #expect(ResultsDirectory(dir).entries().isEmpty, "hidden from datamate's listing")
    }
}
