import FlyvisBase
import FlyvisHDF5
import FlyvisMPI
import FlyvisResults
import Foundation
import Synchronization

/// Message tags between ranks.
private enum Tag {
    static let progress = 101, request = 102, assign = 103, done = 104
}

/// Runs an ensemble over MPI ranks (or alone, as a singleton): every rank trains members through
/// the same `MemberTrainer`; rank 0 also hands out members beyond the first P, keeps the live
/// table, and writes the summary and the ranking from the rows every rank sends it.
package final class EnsembleCoordinator {
    let run: EnsembleRun
    let comm: Communicator
    let trainer: any MemberTrainer
    let output: (String) -> Void

    // Rank 0 state.
    private var table = StatusTable()
    private var queue: [Int] = []
    private var finishedRanks = Set<Int>()
    private var lastPrint = Date.distantPast
    private var lastPublish = Date.distantPast
    private var pendingSends: [Request<UInt8>] = []
    private let report = EnsembleReportWriter()

    /// Members this rank trained (or skipped as already done), with their final status.
    private(set) var localResults: [(MemberID, MemberStatus)] = []

    package init(
        run: EnsembleRun, communicator: Communicator, trainer: any MemberTrainer,
        output: @escaping (String) -> Void = { print($0) }
    ) {
        self.run = run
        self.comm = communicator
        self.trainer = trainer
        self.output = output
    }

    /// Trains, gathers and summarises. Returns the job's exit status (identical on every rank).
    package func execute() throws -> ExitStatus {
        // One job per ensemble: a second job stops here, before it writes anything.
        guard let lock = try lockEnsemble() else { return .failure }
        defer { lock.release() }
        if comm.isRoot {
            output(
                "flyvis-ensemble: training members \(run.members.lowerBound)..<\(run.members.upperBound) of \(run.taskName)/\(ResultsSchema.ensembleFolder(run.ensembleID)) on \(comm.size) rank(s); results in \(run.ensembleDirectory.path)"
            )
        }
        let first = run.members.lowerBound + comm.rank
        if comm.isRoot {
            queue = Array(run.members.dropFirst(comm.size))
            table.start(members: run.members)
        }
        var next: Int? = first < run.members.upperBound ? first : nil
        while let member = next {
            let status = trainMember(member)
            localResults.append((MemberID(ensembleID: run.ensembleID, member: member), status))
            if status.state == .interrupted || StopSignal.isSet { break }
            next = try requestNextMember()
        }
        try finishRank()
        return try summarize()
    }

    /// Rank 0 takes the ensemble lock; every rank learns the outcome. nil (on every rank) when
    /// another job holds the ensemble: rank 0 has said so on stderr, naming the holder.
    private func lockEnsemble() throws -> EnsembleLock? {
        var lock: EnsembleLock?
        var refused = false
        if comm.isRoot {
            do {
                // Symlinks resolved first: the ensemble folder must stay inside <root>/results.
                let results = run.ensembleDirectory.url.deletingLastPathComponent().deletingLastPathComponent()
                try NetworkPath.checkDirectoryComponents(run.ensembleDirectory.url, results: results)
                try NetworkPath.checkResolvedInside(run.ensembleDirectory.url, results: results)
                try FileManager.default.createDirectory(at: run.ensembleDirectory.url, withIntermediateDirectories: true)
                lock = try EnsembleLock(ensembleDirectory: run.ensembleDirectory) { [output] in output("warning: \($0)") }
            } catch {
                TrainingLog.finalError("\(error)")
                refused = true
            }
        }
        refused = try comm.allreduce([Int32(refused ? 1 : 0)], .max)[0] != 0
        if refused { return nil }
        return lock ?? EnsembleLock.none
    }

    // MARK: Members

    private func trainMember(_ member: Int) -> MemberStatus {
        let id = MemberID(ensembleID: run.ensembleID, member: member)
        let dir = run.directory(member)
        // A finished member still goes through the trainer: its config must match the stored
        // one (then it returns at once, or continues to a larger task.n_iters).
        if let previous = MemberStatus.read(from: dir) {
            // A member that stopped for lack of disk space is not a deterministic failure: a
            // plain rerun continues it.
            if previous.state == .failed && !run.retryFailed && !MemberStatus.isOutOfSpace(previous.error) {
                send(
                    ProgressReport(
                        member: member, rank: comm.rank, state: .failed, iteration: previous.iteration,
                        totalIterations: 0, error: previous.error))
                return previous
            }
        }
        var lifecycle = MemberLifecycle(member: id, rank: comm.rank, directory: dir)
        lifecycle.betweenIterations = { [self] in if comm.isRoot { poll() } }
        lifecycle.send = { [self] report in send(report) }
        return lifecycle.run(trainer).status
    }

    /// Sends a report to rank 0 without blocking (rank 0 records its own directly).
    private func send(_ report: ProgressReport) {
        if comm.isRoot {
            record(report)
            return
        }
        guard let data = try? JSONEncoder().encode(report),
            let request = try? comm.isend(Array(data), to: 0, tag: Tag.progress)
        else { return }
        pendingSends.append(request)
        pendingSends.removeAll { (try? $0.test()) ?? true }
    }

    private func requestNextMember() throws -> Int? {
        if comm.isRoot {
            poll()
            return StopSignal.isSet || queue.isEmpty ? nil : queue.removeFirst()
        }
        try comm.send([Int64](), to: 0, tag: Tag.request)
        let reply = try comm.receive(Int64.self, count: 1, from: 0, tag: Tag.assign)
        let member = reply.values.first ?? -1
        return member >= 0 ? Int(member) : nil
    }

    // MARK: Rank 0

    /// Handles every waiting message; called between rank 0's own iterations.
    private func poll() {
        guard comm.isRoot else { return }
        while let info = try? comm.iprobe(UInt8.self) {
            switch info.tag {
            case Tag.progress:
                if let msg = try? comm.receive(UInt8.self, count: info.count, from: info.source, tag: Tag.progress),
                    let report = try? JSONDecoder().decode(ProgressReport.self, from: Data(msg.values))
                {
                    record(report)
                }
            case Tag.request:
                _ = try? comm.receive(Int64.self, count: 0, from: info.source, tag: Tag.request)
                let next = StopSignal.isSet || queue.isEmpty ? -1 : Int64(queue.removeFirst())
                if let r = try? comm.isend([next], to: info.source, tag: Tag.assign) { pendingAssign.append(r) }
            case Tag.done:
                _ = try? comm.receive(Int64.self, count: 0, from: info.source, tag: Tag.done)
                finishedRanks.insert(info.source)
            default:
                // Not ours: drain it so it cannot block the loop.
                _ = try? comm.receive(UInt8.self, count: info.count, from: info.source, tag: info.tag)
            }
        }
        pendingAssign.removeAll { (try? $0.test()) ?? true }
        if Date().timeIntervalSince(lastPrint) >= run.statusInterval { publishStatus(print: true) }
    }
    private var pendingAssign: [Request<Int64>] = []

    private func record(_ report: ProgressReport) {
        let changed = table.update(report)
        // Checkpoints and state changes at once; progress between checkpoints at most every
        // run.progressInterval (30 s by default).
        if changed
            && (report.state != .running || report.checkpointIndex != nil || Date().timeIntervalSince(lastPublish) >= run.progressInterval)
        {
            publishStatus(print: false)
        }
    }

    private func publishStatus(print doPrint: Bool, final: Bool = false) {
        let text = table.markdown(title: "Ensemble \(run.taskName)/\(ResultsSchema.ensembleFolder(run.ensembleID))")
        try? AtomicFile.write(run.ensembleDirectory.url.appendingPathComponent(ResultsSchema.ensembleStatus), text: text)
        lastPublish = Date()
        // The page is a view of the same moment; a failure to draw it must not stop training.
        let live = LiveJob(
            members: table.liveMembers(), started: table.started, final: final,
            refreshSeconds: Int(min(max(run.statusInterval, 10), 300)))
        _ = try? report.write(ensembleDirectory: run.ensembleDirectory, taskName: run.taskName, topK: run.topK, live: live)
        if doPrint {
            output(text)
            lastPrint = Date()
        }
    }

    private func finishRank() throws {
        for r in pendingSends { _ = try? r.wait() }
        pendingSends.removeAll()
        if comm.isRoot {
            finishedRanks.insert(0)
            while finishedRanks.count < comm.size {
                poll()
                usleep(20_000)
            }
            for r in pendingAssign { _ = try? r.wait() }
            publishStatus(print: true, final: true)
        } else {
            try comm.send([Int64](), to: 0, tag: Tag.done)
        }
        try comm.barrier()
    }

    // MARK: Summary

    private func summarize() throws -> ExitStatus {
        // The rows come from the member directories, as `summary` reads them: a member this
        // job could not run (held by another run, or a refused rerun) keeps the state it has
        // there. The exit status is this job's own outcome.
        let local = localResults.map { id, _ in
            MemberSummary.collect(run.directory(id.member), id: id, rank: comm.rank)
        }
        let severity = localResults.map(\.1.state.severity).max() ?? 0
        let worst = try comm.allreduce([severity], .max)[0]
        let all = try EnsembleSummary.gatherRows(local, communicator: comm, ensembleID: run.ensembleID) { [run] id in
            MemberStatus.read(from: run.directory(id.member))?.error ?? ""
        }
        // Rank 0 writes alone; whatever it throws (a full disk, say) reaches every rank
        // through the allreduce, so no rank is left waiting in a collective while rank 0
        // tears MPI down.
        var rootFailed = false
        if comm.isRoot {
            do { try finalizeSummary(all, worst: worst) } catch {
                // Said here, before the allreduce lets the other ranks exit: mpirun may end
                // the job as soon as one rank exits non-zero, and the line must not be lost
                // (or cut by mpirun's own banner). One write, so it stays one line.
                TrainingLog.finalError("\(error)")
                if AtomicFile.outOfSpace(error) != nil { output(Self.spaceHint) }
                rootFailed = true
            }
        }
        rootFailed = try comm.allreduce([Int32(rootFailed ? 1 : 0)], .max)[0] != 0
        // Every rank exits 1; rank 0 has said why.
        if rootFailed { return .failure }
        switch worst {
        case 2: return .interrupted
        case 1: return .failure
        default: return .success
        }
    }

    static let spaceHint =
        "Free disk space, then rerun this same command: members that stopped for lack of space continue from their last checkpoint."

    /// Rank 0's part of the summary: the summary file, the ranking, the best checkpoints and
    /// the gathered tuning (`EnsembleSummary.writeOutputs`), the table on stdout, and the
    /// report page once more so that it shows the gathered tuning.
    private func finalizeSummary(_ members: [MemberSummary], worst: Int32) throws {
        let (ranked, table) = try EnsembleSummary.writeOutputs(
            members, ensembleDirectory: run.ensembleDirectory,
            taskName: run.taskName, topK: run.topK,
            totalRows: run.members.count,
            rowOf: { [run] in $0.member - run.members.lowerBound })
        output("Ranking by task error:\n" + table)
        // The page again, now that the summary has gathered the members' tuning readouts.
        publishStatus(print: false, final: true)
        let failed = ranked.filter { $0.state == .failed }
        if !failed.isEmpty {
            output("FAILED members: " + failed.map { "\(run.taskName)/\($0.id.name): \($0.error)" }.joined(separator: "; "))
        }
        if failed.contains(where: { MemberStatus.isOutOfSpace($0.error) }) {
            output(Self.spaceHint)
        }
        // Members this job could not run (another run holds them, or their stored config
        // differs) keep their own state above; say why they were not run.
        let notRun = run.members.compactMap { m -> String? in
            guard let row = self.table.rows[m], row.state != .failed, let error = row.error else { return nil }
            return "\(run.taskName)/\(MemberID(ensembleID: run.ensembleID, member: m).name): \(error)"
        }
        if !notRun.isEmpty { output("NOT RUN by this job (left as they were): " + notRun.joined(separator: "; ")) }
        if worst == 2 {
            output("Stopped by signal after checkpointing; re-run the same command with --resume to continue.")
        }
    }
}
