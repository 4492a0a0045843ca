import FlyvisHDF5
import FlyvisMPI
import FlyvisResults
import Foundation

/// A member's training state as recorded in `<netdir>/_status.yaml`, so that `--resume` and
/// `summary` know which members finished, failed or were interrupted, without re-deriving it
/// from loss files. (The underscore keeps it out of datamate's listing, like `_meta.yaml`.)
package struct MemberStatus: Equatable, Sendable {
    package var state: ProgressReport.State
    package var iteration: Int
    package var error: String?

    package init(state: ProgressReport.State, iteration: Int, error: String? = nil) {
        self.state = state
        self.iteration = iteration
        self.error = error
    }

    package static func url(in dir: ResultsDirectory) -> URL { dir.url.appendingPathComponent(ResultsSchema.status) }

    /// Whether a recorded error is a full disk or quota (`ResultsError.noSpace`'s wording):
    /// such a member continues on a plain rerun once space is freed.
    package static func isOutOfSpace(_ error: String?) -> Bool {
        guard let error else { return false }
        return ["no space left on device while writing", "disk quota exceeded while writing"].contains { error.contains($0) }
    }

    package func write(to dir: ResultsDirectory) throws {
        var text = "state: \(state.rawValue)\niteration: \(iteration)\n"
        if let error {
            let oneLine = error.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "'", with: "''")
            text += "error: '\(oneLine)'\n"
        }
        try FileManager.default.createDirectory(at: dir.url, withIntermediateDirectories: true)
        try AtomicFile.write(Self.url(in: dir), text: text)
    }

    package static func read(from dir: ResultsDirectory) -> MemberStatus? {
        guard let text = try? String(contentsOf: url(in: dir), encoding: .utf8) else { return nil }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("'"), value.hasSuffix("'"), value.count >= 2 {
                value = String(value.dropFirst().dropLast()).replacingOccurrences(of: "''", with: "'")
            }
            fields[key] = value
        }
        guard let state = fields["state"].flatMap(ProgressReport.State.init(rawValue:)),
              let iteration = fields["iteration"].flatMap(Int.init) else { return nil }
        return MemberStatus(state: state, iteration: iteration, error: fields["error"])
    }
}

/// One row of the ensemble summary.
package struct MemberSummary: Equatable, Sendable {
    package var id: MemberID
    package var rank: Int
    package var state: MemberState
    package var error: String
    /// `validation/loss` per checkpoint (flyvis's in-training validation loss).
    package var valLoss: [Double]
    /// Checkpoint index (as in `chkpts/chkpt_NNNNN`) with the lowest validation loss, or -1.
    package var bestCheckpoint: Int
    package var minValLoss: Double
    package var iterations: Int
    package var timeTrained: Double
    /// Files of the member that exist but cannot be read, or why the member has no results.
    package var problems: [String] = []

    /// Reads a member's results directory. Missing files give empty/NaN fields, so partially
    /// trained or failed members still get a row.
    package static func collect(_ dir: ResultsDirectory, id: MemberID, rank: Int = -1,
                               status: MemberStatus? = nil) -> MemberSummary {
        let status = status ?? MemberStatus.read(from: dir)
        var problems: [String] = []
        /// Reads a history, noting a file that exists but does not read (a missing one is no news).
        func history<T: HDF5Element>(_ d: ResultsDirectory, _ key: String, as: T.Type) -> HDF5Array<T>? {
            guard d.contains(key) else { return nil }
            do { return try d.read(key, as: T.self) } catch {
                problems.append("cannot read \(d.file(key).path): \(error)")
                return nil
            }
        }
        if !dir.exists { problems.append("\(dir.path) does not exist") }
        // As a resume would see it: entries past the last checkpoint that verifies left out.
        let checkpointed = CheckpointedHistory.read(dir, problems: &problems)
        let losses = checkpointed.valLoss
        let chkptIndex = checkpointed.chkptIndex
        var best = -1
        var minLoss = Double.nan
        for (i, l) in losses.enumerated() where !l.isNaN && (minLoss.isNaN || l < minLoss) {
            minLoss = l
            best = i < chkptIndex.count ? chkptIndex[i] : i
        }
        let chkptIter = checkpointed.chkptIter
        var iterations = status?.iteration ?? chkptIter.last.map { Int($0) + 1 } ?? 0
        if checkpointed.rolledBack { iterations = chkptIter.last.map { Int($0) + 1 } ?? 0 }
        let time = history(dir, ResultsSchema.timeTrained, as: Double.self)?.values.first ?? 0
        var state = status?.state ?? (losses.isEmpty ? .missing : .unknown)
        // "running" with no live run holding the member: it was killed (kill -9, a lost node)
        // and resumes like an interrupted one.
        if state == .running && checkpointed.live == false { state = .interrupted }
        if dir.exists && losses.isEmpty && problems.isEmpty && status == nil {
            problems.append("\(dir.path) has no validation/loss.h5 and no _status.yaml: no results to summarize")
        }
        return MemberSummary(id: id, rank: rank, state: state, error: status?.error ?? "",
                             valLoss: losses, bestCheckpoint: best, minValLoss: minLoss,
                             iterations: iterations, timeTrained: time, problems: problems)
    }
}

/// The ensemble-level outputs flyvis never writes: `ensemble_summary.h5`, the ranking by task
/// error (minimum validation loss), and `best_checkpoints.txt`.
package enum EnsembleSummary {
    /// Members ordered by task error (lowest minimum validation loss first); members without a
    /// finite loss (failed, missing) come last in id order.
    package static func ranking(_ members: [MemberSummary]) -> [MemberSummary] {
        members.sorted { a, b in
            // Failed members rank last whatever their early losses were.
            let fa = a.state == .failed, fb = b.state == .failed
            if fa != fb { return !fa }
            switch (a.minValLoss.isFinite, b.minValLoss.isFinite) {
            case (true, true): return a.minValLoss != b.minValLoss ? a.minValLoss < b.minValLoss : a.id < b.id
            case (true, false): return true
            case (false, true): return false
            case (false, false): return a.id < b.id
            }
        }
    }

    /// Writes the summary's numeric rows, in one process: rank 0 writes the ensemble's summary
    /// alone after gathering the rows (`gatherRows`), because serial files are built in memory
    /// and written with checked writes that survive a full disk, while a failed collective
    /// MPI-IO write can crash libhdf5 at `MPI_Finalize`. `rowOf` maps a member to its row.
    /// With the numbers go what needs every member at once: names, states, errors, the
    /// ranking and the top-k flags. Returns the members ranked.
    @discardableResult
    package static func write(path: String, members: [MemberSummary], totalRows: Int, rowOf: (MemberID) -> Int,
                             taskName: String, topK: Int?) throws -> [MemberSummary] {
        let width = max(members.map(\.valLoss.count).max() ?? 0, 1)
        var valLoss = [Double](repeating: .nan, count: totalRows * width)
        var minLoss = [Double](repeating: .nan, count: totalRows), time = [Double](repeating: 0, count: totalRows)
        var best = [Int64](repeating: -1, count: totalRows), rank = [Int64](repeating: -1, count: totalRows)
        var iterations = [Int64](repeating: 0, count: totalRows)
        // Status codes: 0 missing, 1 running/unknown, 2 finished, 3 failed, 4 interrupted.
        var status = [Int32](repeating: 0, count: totalRows)
        for m in members {
            let row = rowOf(m.id)
            for (i, l) in m.valLoss.enumerated() { valLoss[row * width + i] = l }
            minLoss[row] = m.minValLoss
            time[row] = m.timeTrained
            best[row] = Int64(m.bestCheckpoint)
            rank[row] = Int64(m.rank)
            iterations[row] = Int64(m.iterations)
            status[row] = m.state.summaryCode
        }
        let f = try HDF5File(path: path, mode: .truncate)
        try f.write("val_loss", valLoss, shape: [totalRows, width])
        try f.write("min_val_loss", minLoss, shape: [totalRows])
        try f.write("best_chkpt", best, shape: [totalRows])
        try f.write("rank", rank, shape: [totalRows])
        try f.write("iterations", iterations, shape: [totalRows])
        try f.write("time_trained", time, shape: [totalRows])
        try f.write("status", status, shape: [totalRows])
        let ranked = try writeRanking(f, members: members, rowOf: rowOf, totalRows: totalRows,
                                      taskName: taskName, topK: topK)
        try f.close()
        return ranked
    }

    /// The text columns, the ranking and the top-k flags of an open summary.
    private static func writeRanking(_ f: HDF5File, members: [MemberSummary], rowOf: (MemberID) -> Int,
                                     totalRows: Int, taskName: String, topK: Int?) throws -> [MemberSummary] {
        var byRow = [MemberSummary?](repeating: nil, count: totalRows)
        for m in members { byRow[rowOf(m.id)] = m }
        let ranked = ranking(members)
        let k = min(topK ?? ranked.count, ranked.count)
        var position = [Int64](repeating: -1, count: totalRows)
        var top = [UInt8](repeating: 0, count: totalRows)
        for (i, m) in ranked.enumerated() {
            position[rowOf(m.id)] = Int64(i)
            if i < k && m.minValLoss.isFinite && m.state != .failed { top[rowOf(m.id)] = 1 }
        }
        try f.writeStrings("names", byRow.map { m in m.map { "\(taskName)/\($0.id.name)" } ?? "" })
        try f.writeStrings("state", byRow.map { ($0?.state ?? .missing).rawValue })
        try f.writeStrings("error", byRow.map { $0?.error ?? "" })
        try f.write("ranking", position, shape: [totalRows])
        try f.write("top_k", top, shape: [totalRows])
        try f.setAttribute("top_k", Int64(k))
        try f.setAttribute("status_codes", string: MemberState.summaryCodeLegend)
        return ranked
    }

    /// Every rank's members, on `root` (empty elsewhere), in one `MPI_Gather` of fixed-size
    /// records: the numeric fields travel, the error text rank 0 reads from each member's
    /// `_status.yaml` (`errorOf`). Every rank must call it.
    package static func gatherRows(_ local: [MemberSummary], communicator comm: Communicator, ensembleID: Int,
                                  errorOf: (MemberID) -> String) throws -> [MemberSummary] {
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
        static let fields = 9
        static func pack(_ m: MemberSummary?, width: Int) -> [Double] {
            guard let m else { return [Double](repeating: 0, count: fields + width) }
            let state = Double(MemberState.allCases.firstIndex(of: m.state)!)
            return [1, Double(m.id.member), Double(m.rank), state, Double(m.bestCheckpoint), Double(m.iterations),
                    m.timeTrained, m.minValLoss, Double(m.valLoss.count)]
                + m.valLoss + [Double](repeating: .nan, count: width - m.valLoss.count)
        }
        static func unpack(_ r: ArraySlice<Double>, ensembleID: Int, errorOf: (MemberID) -> String) -> MemberSummary? {
            let v = Array(r)
            guard v[0] == 1 else { return nil }
            let id = MemberID(ensembleID: ensembleID, member: Int(v[1]))
            return MemberSummary(id: id, rank: Int(v[2]), state: MemberState.allCases[Int(v[3])], error: errorOf(id),
                                 valLoss: Array(v[fields..<(fields + Int(v[8]))]), bestCheckpoint: Int(v[4]),
                                 minValLoss: v[7], iterations: Int(v[5]), timeTrained: v[6])
        }
    }

    /// A fixed-width table of the ranking, printed at the end and written next to the summary.
    package static func rankingTable(_ ranked: [MemberSummary], taskName: String, topK: Int?) -> String {
        let k = topK ?? ranked.count
        var lines = ["rank  member                 task error (min val loss)  best chkpt  iterations  state        top-k"]
        for (i, m) in ranked.enumerated() {
            let loss = m.minValLoss.isFinite ? String(format: "%.6f", m.minValLoss) : "n/a"
            let mark = i < k && m.minValLoss.isFinite && m.state != .failed ? "*" : ""
            lines.append(String(format: "%4d  %@  %26@  %10@  %10d  %@  %@",
                                i + 1, pad("\(taskName)/\(m.id.name)", 21), loss as NSString,
                                (m.bestCheckpoint >= 0 ? "\(m.bestCheckpoint)" : "-") as NSString,
                                m.iterations, pad(m.state.rawValue, 11), mark as NSString))
        }
        for m in ranked where !m.error.isEmpty {
            lines.append("  \(taskName)/\(m.id.name) \(m.state): \(m.error)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `best_checkpoints.txt`: one line per ranked member with a finite loss:
    /// `<task>/<EEEE>/<NNN> <path of best checkpoint> <min val loss>`.
    package static func bestCheckpointsText(_ ranked: [MemberSummary], ensembleDir: ResultsDirectory) -> String {
        ranked.filter { $0.minValLoss.isFinite && $0.bestCheckpoint >= 0 && $0.state != .failed }.map { m in
            let dir = ensembleDir.member(m.id.member)
            let path = CheckpointStore(networkDirectory: dir).path(index: m.bestCheckpoint).path
            return "\(m.id.name) \(path) \(String(format: "%.9g", m.minValLoss))"
        }.joined(separator: "\n") + "\n"
    }

    private static func pad(_ s: String, _ n: Int) -> NSString {
        (s.count >= n ? s : s + String(repeating: " ", count: n - s.count)) as NSString
    }
}

extension EnsembleSummary {
    /// Rebuilds the summary of an ensemble directory from its member directories (the numeric
    /// sub-directories), serially; works for ensembles trained elsewhere, including by flyvis.
    /// Returns the ranked members.
    @discardableResult
    package static func rebuild(ensembleDirectory: ResultsDirectory, taskName: String? = nil,
                               topK: Int? = nil) throws -> (ranked: [MemberSummary], table: String) {
        let ensembleName = ensembleDirectory.url.lastPathComponent
        let task = taskName ?? ensembleDirectory.url.deletingLastPathComponent().lastPathComponent
        guard let ensembleID = Int(ensembleName) else {
            throw ResultsError.io(path: ensembleDirectory.path,
                                  reason: "not an ensemble directory: expected <root>/results/<task>/<EEEE> with a numeric last part")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: ensembleDirectory.path)) ?? []
        let members = names.compactMap { name -> Int? in
            var isDir: ObjCBool = false
            guard name.allSatisfy(\.isNumber),
                  FileManager.default.fileExists(atPath: ensembleDirectory.subdirectory(name).path, isDirectory: &isDir),
                  isDir.boolValue else { return nil }
            return Int(name)
        }.sorted()
        guard let first = members.first, let last = members.last else {
            throw ResultsError.io(path: ensembleDirectory.path, reason: "no member directories (000, 001, ...) found")
        }
        let summaries = members.map { m in
            MemberSummary.collect(ensembleDirectory.member(m),
                                  id: MemberID(ensembleID: ensembleID, member: m))
        }
        let rowOf: (MemberID) -> Int = { $0.member - first }
        let total = last - first + 1
        let path = ensembleDirectory.url.appendingPathComponent(ResultsSchema.ensembleSummary)
        var ranked: [MemberSummary] = []
        try AtomicFile.write(path) { tmp in
            ranked = try write(path: tmp, members: summaries, totalRows: total, rowOf: rowOf,
                               taskName: task, topK: topK)
        }
        let table = rankingTable(ranked, taskName: task, topK: topK)
        try AtomicFile.write(ensembleDirectory.url.appendingPathComponent(ResultsSchema.ranking), text: table)
        try AtomicFile.write(ensembleDirectory.url.appendingPathComponent(ResultsSchema.bestCheckpoints),
                             text: bestCheckpointsText(ranked, ensembleDir: ensembleDirectory))
        return (ranked, table)
    }
}
