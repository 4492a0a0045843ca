import FlyvisHDF5
import FlyvisResults
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisEnsemble

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Small members for real multi-rank runs: extent 4, a small built-in data set.
let smallEnsemble = TinyConfig.overrides(checkpointEveryEpoch: 2, learningRate: nil)

func ensembleDir(_ root: URL, _ id: Int) -> ResultsDirectory {
    ResultsDirectory(root.appendingPathComponent(String(format: "results/flow/%04d", id)))
}

@Suite(.serialized) struct EnsembleMPITests {
    let mpirunPath = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "mpirun"

    @Test func threeRanksFiveMembersWithOneDivergingMember() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try mpirun(
            ranks: 3,
            [
                productPath("flyvis-ensemble"), "--ensemble-id", "7", "--start", "0", "--end", "5",
                "--root", root.path, "--status-interval", "1",
                "--member-override", "3:scheduler.lr_net.start=1e4", "--member-override", "3:scheduler.lr_dec.start=1e4",
            ]
                + smallEnsemble + ["task.n_iters=36"])
        #expect(r.status != 0, "a failed member makes the job fail")
        #expect(r.output.contains("FAILED members: flow/0007/003"))
        let ens = ensembleDir(root, 7)
        // Every member directory is complete, except the diverged one, which kept its checkpoints.
        for m in 0..<5 {
            let d = ens.member(m)
            let status = try #require(MemberStatus.read(from: d))
            #expect(status.state == (m == 3 ? .failed : .finished), "member \(m)")
            #expect(!CheckpointStore(networkDirectory: d).indices().isEmpty)
            if m != 3 { #expect(try d.read(ResultsSchema.loss, as: Double.self).values.count == 36) }
        }
        #expect(FileManager.default.fileExists(atPath: ens.url.appendingPathComponent(ResultsSchema.ensembleStatus).path))
        // Rank 0's last report page: every member's curve, the diverged member's error, no more reloading.
        let page = try Data(contentsOf: ens.url.appendingPathComponent(ResultsSchema.ensembleReport))
        let doc = try XMLDocument(data: page, options: [])
        func plotted(_ plot: String, _ cls: String) throws -> Int {
            try doc.nodes(forXPath: "//*[local-name()='svg'][@id='\(plot)']//*[contains(concat(' ', @class, ' '), ' \(cls) ')]").count
        }
        let histories = (0..<5).filter { ens.member($0).contains(ResultsSchema.loss) }.count
        #expect(try plotted("training-loss", "curve") == histories, "one training curve per recorded history")
        #expect(try plotted("validation-loss", "curve") == 5)
        #expect(try plotted("training-loss", "fail-mark") == 1, "the diverged member is marked")
        #expect(try doc.nodes(forXPath: "//*[local-name()='meta'][@http-equiv='refresh']").isEmpty)
        #expect(try doc.nodes(forXPath: "//*[local-name()='tr'][contains(@class, 'state-failed')]").count == 1)
        #expect(String(decoding: page, as: UTF8.self).contains("OverflowError"))
        // The gathered summary against every member's own validation/loss.h5.
        let f = try HDF5File(path: ens.url.appendingPathComponent(ResultsSchema.ensembleSummary).path, mode: .readOnly)
        let v: HDF5Array<Double> = try f.read("val_loss")
        let best: [Int64] = try f.read("best_chkpt").values
        let minLoss: [Double] = try f.read("min_val_loss").values
        let taskError: [Double] = try f.read("task_error").values
        let metric = try f.readStrings("task_error_metric")
        let ranking: [Int64] = try f.read("ranking").values
        var mins: [Double] = []
        for m in 0..<5 {
            let d = ens.member(m)
            let losses = try d.split(.validation).read(ResultsSchema.loss, as: Double.self).values
            let row = Array(v.values[(m * v.shape[1])..<((m + 1) * v.shape[1])])
            #expect(Array(row.prefix(losses.count)) == losses, "member \(m) val_loss row")
            #expect(row.dropFirst(losses.count).allSatisfy { $0.isNaN })
            // Best and task error by flyvis's rule: validation/epe once the post-training
            // validation wrote it (finished members), else validation/loss (the diverged one).
            let validated = d.split(.validation).contains(ResultsSchema.epe)
            #expect(validated == (m != 3), "member \(m): epe written after training")
            let scores = validated ? try d.split(.validation).read(ResultsSchema.epe, as: Double.self).values : losses
            let i = scores.indices.filter { !scores[$0].isNaN }.min { scores[$0] < scores[$1] }!
            #expect(best[m] == (try d.read(ResultsSchema.chkptIndex, as: Int64.self).values[i]))
            #expect(taskError[m] == scores[i] && metric[m] == (validated ? "validation/epe" : "validation/loss"))
            #expect(minLoss[m] == losses.min()!)
            mins.append(m == 3 ? .infinity : scores[i])
        }
        let order = (0..<5).sorted { mins[$0] < mins[$1] }
        for (rank, m) in order.enumerated() { #expect(ranking[m] == Int64(rank), "member \(m) ranks \(rank)") }
        #expect(try f.readStrings("state")[3] == "failed")
        let bestText = try String(contentsOf: ens.url.appendingPathComponent(ResultsSchema.bestCheckpoints), encoding: .utf8)
        #expect(bestText.split(separator: "\n").first?.hasPrefix("0007/\(String(format: "%03d", order[0])) ") == true)
        #expect(!bestText.contains("0007/003"))
        // `summary` rebuilds the same numbers from the member directories alone.
        let rebuilt = try run(productPath("flyvis-ensemble"), ["summary", ens.path])
        #expect(rebuilt.status == 0, "\(rebuilt.output)")
        let g = try HDF5File(path: ens.url.appendingPathComponent(ResultsSchema.ensembleSummary).path, mode: .readOnly)
        #expect(try g.read("min_val_loss", as: Double.self).values == minLoss)
        #expect(try g.read("task_error", as: Double.self).values.elementsEqual(taskError) { $0 == $1 || ($0.isNaN && $1.isNaN) })
        #expect(try g.read("ranking", as: Int64.self).values == ranking)
    }

    @Test func sigtermThenResumeMatchesAnUninterruptedRun() throws {
        let a = try temporaryDirectory(), b = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let args = ["--ensemble-id", "8", "--start", "0", "--end", "3"] + smallEnsemble + ["task.n_iters=126"]
        let whole = try mpirun(ranks: 3, [productPath("flyvis-ensemble"), "--root", a.path] + args)
        #expect(whole.status == 0, "\(whole.output.suffix(2000))")
        // Interrupt the same job once every member has checkpointed. SLURM (scancel, time
        // limit) sends SIGTERM to every task of the step, so the ranks get it directly.
        let job = try launch(
            mpirunPath,
            [
                "--allow-run-as-root", "--oversubscribe", "-n", "3", productPath("flyvis-ensemble"),
                "--root", b.path,
            ] + args)
        let ens = ensembleDir(b, 8)
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let counts = (0..<3).map { CheckpointStore(networkDirectory: ens.member($0)).indices().count }
            if counts.allSatisfy({ $0 >= 2 }) { break }
            usleep(100_000)
        }
        let ranks = try run("/usr/bin/pgrep", ["-P", "\(job.processIdentifier)"]).output.split(separator: "\n").compactMap { Int32($0) }
        #expect(ranks.count == 3)
        for r in ranks { kill(r, SIGTERM) }
        job.waitUntilExit()
        #expect(job.terminationStatus == 75, "the job exits with EX_TEMPFAIL so a batch script can requeue it")
        let states = (0..<3).compactMap { MemberStatus.read(from: ens.member($0))?.state }
        #expect(states.contains(.interrupted), "members stopped cleanly: \(states)")
        let resumed = try mpirun(ranks: 3, [productPath("flyvis-ensemble"), "--root", b.path, "--resume"] + args)
        #expect(resumed.status == 0, "\(resumed.output.suffix(2000))")
        for m in 0..<3 {
            let name = String(format: "%03d", m)
            for key in ["loss", "activity"] {
                #expect(
                    try ensembleDir(a, 8).subdirectory(name).read(key, as: Double.self).values
                        == ens.subdirectory(name).read(key, as: Double.self).values, "member \(m) \(key)")
            }
        }
    }

    @Test func sigkillOfOneRankThenResumeCompletes() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let args = ["--ensemble-id", "9", "--start", "0", "--end", "4"] + smallEnsemble + ["task.n_iters=126"]
        let job = try launch(
            mpirunPath,
            [
                "--allow-run-as-root", "--oversubscribe", "-n", "2", productPath("flyvis-ensemble"),
                "--root", root.path,
            ] + args)
        let ens = ensembleDir(root, 9)
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && CheckpointStore(networkDirectory: ens.subdirectory("001")).indices().count < 2 { usleep(100_000) }
        // Kill one rank outright: the whole MPI job dies.
        let children = try run("/usr/bin/pgrep", ["-P", "\(job.processIdentifier)"]).output
            .split(separator: "\n").compactMap { Int32($0) }
        #expect(!children.isEmpty)
        if let victim = children.last { kill(victim, SIGKILL) }
        job.waitUntilExit()
        #expect(job.terminationStatus != 0)
        let again = try mpirun(ranks: 2, [productPath("flyvis-ensemble"), "--root", root.path, "--resume"] + args)
        #expect(again.status == 0, "\(again.output.suffix(2000))")
        for m in 0..<4 {
            let d = ens.member(m)
            #expect(MemberStatus.read(from: d)?.state == .finished, "member \(m)")
            #expect(try d.read(ResultsSchema.loss, as: Double.self).values.count == 126)
        }
    }

    @Test func singleRankRunsMembersOneAfterAnother() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try run(
            productPath("flyvis-ensemble"),
            ["--ensemble-id", "10", "--start", "0", "--end", "2", "--root", root.path]
                + smallEnsemble + ["task.n_iters=18"])
        #expect(r.status == 0, "\(r.output.suffix(2000))")
        #expect(r.output.contains("Ranking by task error"))
        let ens = ensembleDir(root, 10)
        for m in 0..<2 { #expect(MemberStatus.read(from: ens.member(m))?.state == .finished) }
        // Distinct member seeds give distinct networks.
        let l0 = try ens.subdirectory("000").read(ResultsSchema.loss, as: Double.self).values
        let l1 = try ens.subdirectory("001").read(ResultsSchema.loss, as: Double.self).values
        #expect(l0 != l1)
    }

    /// A rerun of an ensemble looks at each member's config: identical and finished is skipped,
    /// a larger task.n_iters continues, anything else (other hyper-parameters, a train-single
    /// directory with another seed) is refused with the difference and leaves the member as it was.
    @Test func rerunComparesEachMembersConfig() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let args = ["--ensemble-id", "11", "--start", "0", "--end", "2", "--root", root.path] + smallEnsemble
        let first = try run(productPath("flyvis-ensemble"), args + ["task.n_iters=18"])
        #expect(first.status == 0, "\(first.output.suffix(2000))")
        let ens = ensembleDir(root, 11)
        let members = ["000", "001"].map { ens.subdirectory($0) }
        func checkpoints() -> [Int] { members.map { CheckpointStore(networkDirectory: $0).indices().count } }
        let before = checkpoints()

        let same = try run(productPath("flyvis-ensemble"), args + ["task.n_iters=18"])
        #expect(same.status == 0, "\(same.output.suffix(2000))")
        #expect(checkpoints() == before, "an identical rerun of finished members trains nothing")

        let other = try run(productPath("flyvis-ensemble"), args + ["task.n_iters=18", "scheduler.lr_net.start=0.005"])
        #expect(other.status != 0, "a rerun with another learning rate must be refused")
        #expect(other.output.contains("scheduler.lr_net.start"), "\(other.output.suffix(2000))")
        #expect(checkpoints() == before)
        for m in members { #expect(MemberStatus.read(from: m)?.state == .finished, "\(m.path) keeps its state") }

        let longer = try run(productPath("flyvis-ensemble"), args + ["task.n_iters=27"])
        #expect(longer.status == 0, "\(longer.output.suffix(2000))")
        for m in members {
            #expect(try m.read(ResultsSchema.loss, as: Double.self).values.count >= 27, "\(m.path) continued to 27 iterations")
            #expect(MemberStatus.read(from: m)?.state == .finished)
        }

        // A directory made by train-single (seed 0) is not taken as member 002 (another seed).
        let single = try run(
            productPath("flyvis-ensemble"),
            [
                "train-single", "--root", root.path, "task_name=flow",
                "ensemble_and_network_id=0011/002", "task.n_iters=9", "--skip-validation",
            ]
                + smallEnsemble)
        #expect(single.status == 0, "\(single.output.suffix(2000))")
        let adopt = try run(
            productPath("flyvis-ensemble"),
            ["--ensemble-id", "11", "--start", "2", "--end", "3", "--root", root.path]
                + smallEnsemble + ["task.n_iters=9"])
        #expect(adopt.status != 0 && adopt.output.contains("seed"), "\(adopt.output.suffix(2000))")
    }

    /// Between checkpoints the status table follows the progress reports (every 30 s by
    /// default; `--progress-interval` here). Without them it would only change at the two
    /// checkpoints this run writes, which the second run shows.
    @Test func statusTableFollowsProgressBetweenCheckpoints() throws {
        /// The running iterations the status file showed that are not checkpoint iterations.
        func betweenCheckpoints(progressInterval: String) throws -> Set<Int> {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let status = ensembleDir(root, 12).url.appendingPathComponent(ResultsSchema.ensembleStatus)
            let p = try launch(
                productPath("flyvis-ensemble"),
                [
                    "--ensemble-id", "12", "--start", "0", "--end", "1", "--root", root.path, "--skip-validation",
                    "--progress-interval", progressInterval,
                ]
                    + smallEnsemble + ["scheduler.chkpt_every_epoch=100000", "task.n_iters=150"])
            var seen = Set<Int>()
            repeat {
                // "| 000 | 0 | running | 123/150 | …": the iteration of a running member.
                if let text = try? String(contentsOf: status, encoding: .utf8) {
                    for line in text.split(separator: "\n") where line.hasPrefix("| 000 ") && line.contains("| running |") {
                        let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                        if cells.count > 3, let i = Int(cells[3].split(separator: "/").first ?? "") { seen.insert(i) }
                    }
                }
                usleep(5_000)
            } while p.isRunning
            #expect(p.terminationStatus == 0)
            // chkpt_iter holds the last iteration before each checkpoint.
            let checkpoints = try ensembleDir(root, 12).member(0).read(ResultsSchema.chkptIter, as: Int64.self).values.map { Int($0) + 1 }
            #expect(checkpoints.count >= 2)
            return seen.subtracting(checkpoints)
        }
        let followed = try betweenCheckpoints(progressInterval: "0")
        #expect(followed.count >= 3, "running iterations between checkpoints: \(followed.sorted())")
        let checkpointsOnly = try betweenCheckpoints(progressInterval: "1000")
        #expect(checkpointsOnly.isEmpty, "running iterations between checkpoints: \(checkpointsOnly.sorted())")
    }

    /// When rank 0 cannot finish the summary (here `ranking.txt` is a directory; a full disk
    /// does the same), every rank still leaves MPI together: one clear error, exit status 1,
    /// no crash in MPI_Finalize and no rank left waiting.
    @Test func rankZeroSummaryFailureEndsEveryRankCleanly() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let blocker = ensembleDir(root, 13).url.appendingPathComponent(ResultsSchema.ranking)
        try FileManager.default.createDirectory(at: blocker.appendingPathComponent("occupied"), withIntermediateDirectories: true)
        let r = try runProcess(
            "/usr/bin/timeout",
            [
                "-k", "10", "300", mpirunPath, "--allow-run-as-root", "--oversubscribe", "-n", "2",
                productPath("flyvis-ensemble"), "--ensemble-id", "13", "--start", "0", "--end", "2",
                "--root", root.path, "--skip-validation",
            ] + smallEnsemble + ["task.n_iters=6"])
        #expect(r.status == 1, "exit status \(r.status) (124 = hung until the timeout)\n\(r.output.suffix(3000))")
        #expect(!r.signaled)
        #expect(r.stderr.contains(ResultsSchema.ranking), "\(r.stderr.suffix(2000))")
        #expect(!r.output.contains("MPI_ABORT") && !r.output.contains("Segmentation"), "\(r.output.suffix(2000))")
        // The members themselves finished.
        for m in 0..<2 { #expect(MemberStatus.read(from: ensembleDir(root, 13).member(m))?.state == .finished, "member \(m)") }
    }
}
