import FlyvisBase
import FlyvisHDF5
import FlyvisMPI
import FlyvisResponses
import FlyvisResults
import Foundation

/// The ensemble-level outputs flyvis never writes: `ensemble_summary.h5`, the ranking by task
/// error (`ranking.txt`) and `best_checkpoints.txt`. Written in one place (`writeOutputs`), by
/// the ensemble job's rank 0 and by `summary` alike. Every member's best checkpoint and task
/// error come from `BestCheckpoint`, flyvis's rule.
package enum EnsembleSummary {
    /// Members ordered by task error, lowest first, as flyvis's `EnsembleView` sorts them:
    /// members ranked by `validation/epe` first, then any still without it by
    /// `validation/loss` (the two are not comparable), then members without a task error in id
    /// order; failed members last whatever their early losses were.
    package static func ranking(_ members: [MemberSummary]) -> [MemberSummary] {
        func group(_ m: MemberSummary) -> Int {
            if m.state == .failed { return 3 }
            guard let best = m.best, best.value.isFinite else { return 2 }
            return best.metric == .epe ? 0 : 1
        }
        return members.sorted { a, b in
            let (ga, gb) = (group(a), group(b))
            if ga != gb { return ga < gb }
            if ga < 2, a.taskError != b.taskError { return a.taskError < b.taskError }
            return a.id < b.id
        }
    }

    /// What the ranking is by, for table and page captions.
    package static func rankedBy(_ members: [MemberSummary]) -> String {
        let metrics = Set(members.compactMap { $0.best?.metric })
        switch metrics.count {
        case 0: return "task error (no member has validation values yet)"
        case 1: return "task error = min. \(metrics.first!.path)"
        default:
            return
                "task error = min. \(BestCheckpoint.Metric.epe.path); members not yet validated after training by min. \(BestCheckpoint.Metric.loss.path), after them"
        }
    }

    /// Writes `ensemble_summary.h5`, `ranking.txt` and `best_checkpoints.txt` for `members`,
    /// each whole under a temporary name and renamed into place; `rowOf` maps a member to its
    /// row of `totalRows`. The one writer of these files. Returns the members ranked and the
    /// ranking table.
    @discardableResult
    package static func writeOutputs(
        _ members: [MemberSummary], ensembleDirectory: ResultsDirectory, taskName: String,
        topK: Int?, totalRows: Int, rowOf: (MemberID) -> Int
    ) throws
        -> (ranked: [MemberSummary], table: String)
    {
        var ranked: [MemberSummary] = []
        try AtomicFile.write(ensembleDirectory.url.appendingPathComponent(ResultsSchema.ensembleSummary)) { tmp in
            ranked = try write(path: tmp, members: members, totalRows: totalRows, rowOf: rowOf, taskName: taskName, topK: topK)
        }
        let table = rankingTable(ranked, taskName: taskName, topK: topK)
        try AtomicFile.write(ensembleDirectory.url.appendingPathComponent(ResultsSchema.ranking), text: table)
        try AtomicFile.write(
            ensembleDirectory.url.appendingPathComponent(ResultsSchema.bestCheckpoints),
            text: bestCheckpointsText(ranked, ensembleDir: ensembleDirectory))
        try writeTuning(members.map(\.id), ensembleDirectory: ensembleDirectory)
        return (ranked, table)
    }

    /// Gathers the members' own tuning readouts (`<member>/tuning.h5`, written after their
    /// post-training validation) into `<ens>/responses/tuning.h5` and `tuning.txt`. Nothing
    /// is written while no member has one; a member whose readout cannot be read is named.
    static func writeTuning(_ ids: [MemberID], ensembleDirectory: ResultsDirectory) throws {
        let dirs = ids.sorted { $0.member < $1.member }.map { ensembleDirectory.member($0.member).url }
        guard let table = try MemberTuning.gather(members: dirs) else { return }
        try table.write(directory: ensembleDirectory.url.appendingPathComponent(ResponsesJob.folder))
    }

    /// Writes the summary's numeric rows, in one process: rank 0 writes the ensemble's summary
    /// alone after gathering the rows (`gatherRows`), because serial files are built in memory
    /// and written with checked writes that survive a full disk, while a failed collective
    /// MPI-IO write can crash libhdf5 at `MPI_Finalize`. `rowOf` maps a member to its row.
    /// With the numbers go what needs every member at once: names, states, errors, the
    /// ranking and the top-k flags. Returns the members ranked.
    @discardableResult
    static func write(
        path: String, members: [MemberSummary], totalRows: Int, rowOf: (MemberID) -> Int,
        taskName: String, topK: Int?
    ) throws -> [MemberSummary] {
        let width = max(members.map(\.valLoss.count).max() ?? 0, 1)
        var valLoss = [Double](repeating: .nan, count: totalRows * width)
        var minLoss = [Double](repeating: .nan, count: totalRows), time = [Double](repeating: 0, count: totalRows)
        var taskError = [Double](repeating: .nan, count: totalRows), metric = [String](repeating: "", count: totalRows)
        var best = [Int64](repeating: -1, count: totalRows), rank = [Int64](repeating: -1, count: totalRows)
        var iterations = [Int64](repeating: 0, count: totalRows)
        // Status codes: 0 missing, 1 running/unknown, 2 finished, 3 failed, 4 interrupted.
        var status = [Int32](repeating: 0, count: totalRows)
        for m in members {
            let row = rowOf(m.id)
            for (i, l) in m.valLoss.enumerated() { valLoss[row * width + i] = l }
            minLoss[row] = m.minValLoss
            taskError[row] = m.taskError
            metric[row] = m.best?.metric.path ?? ""
            time[row] = m.timeTrained
            best[row] = Int64(m.bestCheckpoint)
            rank[row] = Int64(m.rank)
            iterations[row] = Int64(m.iterations)
            status[row] = m.state.summaryCode
        }
        let f = try HDF5File(path: path, mode: .truncate)
        try f.write("val_loss", valLoss, shape: [totalRows, width])
        try f.write("min_val_loss", minLoss, shape: [totalRows])
        try f.write("task_error", taskError, shape: [totalRows])
        try f.writeStrings("task_error_metric", metric)
        try f.write("best_chkpt", best, shape: [totalRows])
        try f.write("rank", rank, shape: [totalRows])
        try f.write("iterations", iterations, shape: [totalRows])
        try f.write("time_trained", time, shape: [totalRows])
        try f.write("status", status, shape: [totalRows])
        let ranked = try writeRanking(
            f, members: members, rowOf: rowOf, totalRows: totalRows,
            taskName: taskName, topK: topK)
        try f.close()
        return ranked
    }

    /// The text columns, the ranking and the top-k flags of an open summary.
    private static func writeRanking(
        _ f: HDF5File, members: [MemberSummary], rowOf: (MemberID) -> Int,
        totalRows: Int, taskName: String, topK: Int?
    ) throws -> [MemberSummary] {
        var byRow = [MemberSummary?](repeating: nil, count: totalRows)
        for m in members { byRow[rowOf(m.id)] = m }
        let ranked = ranking(members)
        let k = min(topK ?? ranked.count, ranked.count)
        var position = [Int64](repeating: -1, count: totalRows)
        var top = [UInt8](repeating: 0, count: totalRows)
        for (i, m) in ranked.enumerated() {
            position[rowOf(m.id)] = Int64(i)
            if i < k && m.isRankable { top[rowOf(m.id)] = 1 }
        }
        try f.writeStrings("names", byRow.map { m in m.map { "\(taskName)/\($0.id.name)" } ?? "" })
        try f.writeStrings("state", byRow.map { ($0?.state ?? .missing).rawValue })
        try f.writeStrings("error", byRow.map { $0?.error ?? "" })
        try f.write("ranking", position, shape: [totalRows])
        try f.write("top_k", top, shape: [totalRows])
        try f.setAttribute("top_k", Int64(k))
        try f.setAttribute("ranked_by", string: rankedBy(members))
        try f.setAttribute("status_codes", string: MemberState.summaryCodeLegend)
        return ranked
    }

    /// Every rank's members, on `root` (empty elsewhere), in one `MPI_Gather` of fixed-size
    /// records: the numeric fields travel, the error text rank 0 reads from each member's
    /// `_status.yaml` (`errorOf`). Every rank must call it.
    package static func gatherRows(
        _ local: [MemberSummary], communicator comm: Communicator, ensembleID: Int,
        errorOf: (MemberID) -> String
    ) throws -> [MemberSummary] {
        let counts = try comm.allreduce([Int64(local.count), Int64(local.map(\.valLoss.count).max() ?? 0)], .max)
        let rounds = Int(counts[0]), width = Int(counts[1])
        var packed: [Double] = []
        packed.reserveCapacity(rounds * (PackedRow.fields + width))
        for k in 0..<rounds { packed += PackedRow.pack(k < local.count ? local[k] : nil, width: width) }
        let all = try comm.gather(packed)
        let size = PackedRow.fields + width
        return stride(from: 0, to: all.count, by: size).compactMap { start in
            PackedRow.unpack(all[start..<(start + size)], ensembleID: ensembleID, errorOf: errorOf)
        }
    }

    /// One member's numeric fields as doubles, padded to a common width with a presence flag
    /// and the true loss count (so NaN losses survive the trip).
    private enum PackedRow {
        static let fields = 11
        static func pack(_ m: MemberSummary?, width: Int) -> [Double] {
            guard let m else { return [Double](repeating: 0, count: fields + width) }
            let state = Double(MemberState.allCases.firstIndex(of: m.state)!)
            let metric = m.best.map { Double(BestCheckpoint.Metric.allCases.firstIndex(of: $0.metric)!) } ?? -1
            return [
                1, Double(m.id.member), Double(m.rank), state, Double(m.bestCheckpoint), Double(m.iterations),
                m.timeTrained, m.taskError, Double(m.valLoss.count), metric, Double(m.best?.position ?? -1),
            ]
                + m.valLoss + [Double](repeating: .nan, count: width - m.valLoss.count)
        }
        static func unpack(_ r: ArraySlice<Double>, ensembleID: Int, errorOf: (MemberID) -> String) -> MemberSummary? {
            let v = Array(r)
            guard v[0] == 1 else { return nil }
            let id = MemberID(ensembleID: ensembleID, member: Int(v[1]))
            let best =
                v[9] < 0
                ? nil
                : BestCheckpoint(
                    index: Int(v[4]), position: Int(v[10]), value: v[7],
                    metric: BestCheckpoint.Metric.allCases[Int(v[9])])
            return MemberSummary(
                id: id, rank: Int(v[2]), state: MemberState.allCases[Int(v[3])], error: errorOf(id),
                valLoss: Array(v[fields..<(fields + Int(v[8]))]), best: best,
                iterations: Int(v[5]), timeTrained: v[6])
        }
    }

    /// A fixed-width table of the ranking, printed at the end and written next to the summary.
    /// Its first line says what it ranks by.
    package static func rankingTable(_ ranked: [MemberSummary], taskName: String, topK: Int?) -> String {
        let k = topK ?? ranked.count
        var lines = [
            "Ranked by \(rankedBy(ranked)).",
            "rank  member                 task error   metric           best chkpt  iterations  state        top-k",
        ]
        for (i, m) in ranked.enumerated() {
            let error = m.taskError.isFinite ? String(format: "%.6f", m.taskError) : "n/a"
            let mark = i < k && m.isRankable ? "*" : ""
            lines.append(
                String(
                    format: "%4d  %@  %10@   %@  %10@  %10d  %@  %@",
                    i + 1, pad("\(taskName)/\(m.id.name)", 21), error as NSString,
                    pad(m.best?.metric.path ?? "-", 15),
                    (m.bestCheckpoint >= 0 ? "\(m.bestCheckpoint)" : "-") as NSString,
                    m.iterations, pad(m.state.rawValue, 11), mark as NSString))
        }
        for m in ranked where !m.error.isEmpty {
            lines.append("  \(taskName)/\(m.id.name) \(m.state): \(m.error)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `best_checkpoints.txt`: one line per ranked member with a task error:
    /// `<EEEE>/<NNN> <path of best checkpoint> <task error> <metric>`.
    package static func bestCheckpointsText(_ ranked: [MemberSummary], ensembleDir: ResultsDirectory) -> String {
        ranked.filter { $0.isRankable && $0.bestCheckpoint >= 0 }.map { m in
            let dir = ensembleDir.member(m.id.member)
            let path = CheckpointStore(networkDirectory: dir).path(index: m.bestCheckpoint).path
            return "\(m.id.name) \(path) \(String(format: "%.9g", m.taskError)) \(m.best!.metric.path)"
        }.joined(separator: "\n") + "\n"
    }

    private static func pad(_ s: String, _ n: Int) -> NSString {
        (s.count >= n ? s : s + String(repeating: " ", count: n - s.count)) as NSString
    }
}

extension EnsembleSummary {
    /// Rebuilds the summary of an ensemble directory from its member directories (the numeric
    /// sub-directories), serially; works for ensembles trained elsewhere, including by flyvis.
    /// Returns the ranked members and the table.
    @discardableResult
    package static func rebuild(
        ensembleDirectory: ResultsDirectory, taskName: String? = nil,
        topK: Int? = nil
    ) throws -> (ranked: [MemberSummary], table: String) {
        try EnsembleDirectoryError.check(ensembleDirectory)
        let task = taskName ?? ensembleDirectory.url.deletingLastPathComponent().lastPathComponent
        guard let ensembleID = Int(ensembleDirectory.url.lastPathComponent) else {
            throw EnsembleDirectoryError.notNumbered(path: ensembleDirectory.path)
        }
        let members = ensembleDirectory.memberNumbers()
        guard let first = members.first, let last = members.last else {
            throw EnsembleDirectoryError.noMembers(path: ensembleDirectory.path)
        }
        let summaries = members.map { m in
            MemberSummary.collect(ensembleDirectory.member(m), id: MemberID(ensembleID: ensembleID, member: m))
        }
        return try writeOutputs(
            summaries, ensembleDirectory: ensembleDirectory, taskName: task, topK: topK,
            totalRows: last - first + 1, rowOf: { $0.member - first })
    }
}
