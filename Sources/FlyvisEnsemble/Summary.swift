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
        let lossFile = history(dir.split(.validation), ResultsSchema.loss, as: Double.self)
        let losses = lossFile?.values ?? []
        let chkptIndex = history(dir, ResultsSchema.chkptIndex, as: Int64.self)?.values.map(Int.init) ?? []
        var best = -1
        var minLoss = Double.nan
        for (i, l) in losses.enumerated() where !l.isNaN && (minLoss.isNaN || l < minLoss) {
            minLoss = l
            best = i < chkptIndex.count ? chkptIndex[i] : i
        }
        let chkptIter = history(dir, ResultsSchema.chkptIter, as: Int64.self)?.values ?? []
        let iterations = status?.iteration ?? chkptIter.last.map { Int($0) + 1 } ?? 0
        let time = history(dir, ResultsSchema.timeTrained, as: Double.self)?.values.first ?? 0
        let state = status?.state ?? (losses.isEmpty ? .missing : .unknown)
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

    /// Writes the summary. With a communicator every rank passes only its own members and the
    /// file is written collectively with parallel HDF5, each rank filling its own rows; without
    /// one, a single process writes all rows. `rowOf` maps a member to its row.
    package static func write(path: String, localMembers: [MemberSummary], totalRows: Int,
                             rowOf: (MemberID) -> Int, communicator: Communicator?) throws {
        let localMax = localMembers.map(\.valLoss.count).max() ?? 0
        let localCount = localMembers.count
        let maxCheckpoints: Int
        let rounds: Int
        if let comm = communicator {
            maxCheckpoints = Int(try comm.allreduce([Int64(localMax)], .max)[0])
            rounds = Int(try comm.allreduce([Int64(localCount)], .max)[0])
        } else {
            maxCheckpoints = localMax
            rounds = localCount
        }
        let width = max(maxCheckpoints, 1)
        let f = try HDF5File(path: path, mode: .truncate, communicator: communicator)
        try f.createDataset("val_loss", of: Double.self, shape: [totalRows, width], fill: .nan)
        try f.createDataset("min_val_loss", of: Double.self, shape: [totalRows], fill: .nan)
        try f.createDataset("best_chkpt", of: Int64.self, shape: [totalRows], fill: -1)
        try f.createDataset("rank", of: Int64.self, shape: [totalRows], fill: -1)
        try f.createDataset("iterations", of: Int64.self, shape: [totalRows], fill: 0)
        try f.createDataset("time_trained", of: Double.self, shape: [totalRows], fill: 0)
        // Status codes: 0 missing, 1 running/unknown, 2 finished, 3 failed, 4 interrupted.
        try f.createDataset("status", of: Int32.self, shape: [totalRows], fill: 0)
        for k in 0..<rounds {
            let m = k < localMembers.count ? localMembers[k] : nil
            let row = m.map { rowOf($0.id) } ?? 0
            let n = m == nil ? 0 : 1
            let losses = m.map { $0.valLoss + [Double](repeating: .nan, count: width - $0.valLoss.count) } ?? []
            try f.writeHyperslab("val_loss", losses, start: [row, 0], count: [n, width])
            try f.writeHyperslab("min_val_loss", m.map { [$0.minValLoss] } ?? [], start: [row], count: [n])
            try f.writeHyperslab("best_chkpt", m.map { [Int64($0.bestCheckpoint)] } ?? [], start: [row], count: [n])
            try f.writeHyperslab("rank", m.map { [Int64($0.rank)] } ?? [], start: [row], count: [n])
            try f.writeHyperslab("iterations", m.map { [Int64($0.iterations)] } ?? [], start: [row], count: [n])
            try f.writeHyperslab("time_trained", m.map { [$0.timeTrained] } ?? [], start: [row], count: [n])
            try f.writeHyperslab("status", m.map { [$0.state.summaryCode] } ?? [], start: [row], count: [n])
        }
        try f.close()
    }

    /// Adds what only rank 0 computes (names, errors, ranking, top-k) to a written summary.
    package static func finalize(path: String, members: [MemberSummary], rowOf: (MemberID) -> Int,
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
        let f = try HDF5File(path: path, mode: .readWrite)
        try f.writeStrings("names", byRow.enumerated().map { i, m in m.map { "\(taskName)/\($0.id.name)" } ?? "" })
        try f.writeStrings("state", byRow.map { ($0?.state ?? .missing).rawValue })
        try f.writeStrings("error", byRow.map { $0?.error ?? "" })
        try f.write("ranking", position, shape: [totalRows])
        try f.write("top_k", top, shape: [totalRows])
        try f.setAttribute("top_k", Int64(k))
        try f.setAttribute("status_codes", string: MemberState.summaryCodeLegend)
        try f.close()
        return ranked
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
            try write(path: tmp, localMembers: summaries, totalRows: total, rowOf: rowOf, communicator: nil)
            ranked = try finalize(path: tmp, members: summaries, rowOf: rowOf, totalRows: total,
                                  taskName: task, topK: topK)
        }
        let table = rankingTable(ranked, taskName: task, topK: topK)
        try AtomicFile.write(ensembleDirectory.url.appendingPathComponent(ResultsSchema.ranking), text: table)
        try AtomicFile.write(ensembleDirectory.url.appendingPathComponent(ResultsSchema.bestCheckpoints),
                             text: bestCheckpointsText(ranked, ensembleDir: ensembleDirectory))
        return (ranked, table)
    }
}
