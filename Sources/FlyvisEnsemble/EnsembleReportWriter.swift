import FlyvisBase
import FlyvisHDF5
import FlyvisReport
import FlyvisResponses
import FlyvisResults
import Foundation

/// Builds `<ens>/ensemble_report.html` from the member directories — ours, or flyvis's (no
/// `_status.yaml`) — and, in a live job, rank 0's status table. It keeps each member's reduced
/// training curve while the file is unchanged, so rank 0 re-reads only the members that
/// checkpointed since its last update (a 250,000-iteration `loss.h5` is 2 MB).
package final class EnsembleReportWriter {
    private struct Stamp: Equatable {
        var modified: Date
        var size: Int
        init?(_ url: URL) {
            guard let a = try? FileManager.default.attributesOfItem(atPath: url.path),
                let d = a[.modificationDate] as? Date, let s = a[.size] as? NSNumber
            else { return nil }
            modified = d
            size = s.intValue
        }
    }

    private struct CachedCurve {
        var stamp: Stamp
        var length: Int
        var curve: TrainingCurve?
        var axis = 0, window = 0
    }

    private var curves: [Int: CachedCurve] = [:]
    /// Each member's best checkpoint from the latest `build`.
    private var bests: [Int: BestCheckpoint?] = [:]

    package init() {}

    package static func url(in ensembleDirectory: ResultsDirectory) -> URL {
        ensembleDirectory.url.appendingPathComponent(ResultsSchema.ensembleReport)
    }

    /// Writes the page atomically (to `<ens>/ensemble_report.html` unless `to` is given).
    @discardableResult
    package func write(
        ensembleDirectory: ResultsDirectory, taskName: String? = nil, topK: Int? = nil,
        live: LiveJob? = nil, to url: URL? = nil
    ) throws -> (url: URL, report: EnsembleReport) {
        let report = try build(ensembleDirectory: ensembleDirectory, taskName: taskName, topK: topK, live: live)
        let target = url ?? Self.url(in: ensembleDirectory)
        try AtomicFile.write(target, text: ReportPage.render(report))
        return (target, report)
    }

    /// Reads the ensemble into report values.
    package func build(
        ensembleDirectory ens: ResultsDirectory, taskName: String? = nil, topK: Int? = nil,
        live: LiveJob? = nil
    ) throws -> EnsembleReport {
        try EnsembleDirectoryError.check(ens)
        let task = taskName ?? ens.url.deletingLastPathComponent().lastPathComponent
        let ids = Set(ens.memberNumbers()).union(live.map { Array($0.members.keys) } ?? []).sorted()
        guard !ids.isEmpty else { throw EnsembleDirectoryError.noMembers(path: ens.path) }

        // First the axis: the planned iterations, or the longest history if that is longer.
        var problems: [Int: [String]] = [:]
        let tuningURL = ens.url.appendingPathComponent(ResponsesJob.folder).appendingPathComponent(TuningTable.fileName)
        var tuning: TuningReport?
        do { tuning = try TuningReportLoader.load(tuningURL) } catch {
            for m in ids { problems[m, default: []].append(Self.problem(tuningURL, error)) }
        }
        var planned: [Int: Int] = [:]
        var lengths: [Int: Int] = [:]
        for m in ids {
            let dir = member(ens, m)
            planned[m] = live?.members[m]?.totalIterations ?? Self.plannedIterations(dir)
            do { lengths[m] = try historyLength(m, dir) } catch {
                problems[m, default: []].append(Self.problem(dir.file(ResultsSchema.loss), error))
            }
        }
        let axis = max(planned.values.max() ?? 0, lengths.values.max() ?? 0, 1)
        let window = TrainingCurve.window(forAxis: axis)

        var members: [MemberReport] = []
        for m in ids {
            let dir = member(ens, m)
            var r = readMember(m, dir, axis: axis, window: window, problems: &problems[m, default: []])
            r.totalIterations = planned[m]
            if let l = live?.members[m] {
                // The status table is newer than the files for a member that is training now.
                r.state = l.state
                r.rank = l.rank
                r.iteration = max(r.iteration, l.iteration)
                if let t = l.totalIterations { r.totalIterations = t }
                if let rate = l.iterationsPerSecond { r.iterationsPerSecond = rate }
                if let e = l.error { r.error = e }
            }
            if r.state == .failed { r.failedAtIteration = Self.failureIteration(r.error) ?? r.iteration }
            r.problems = problems[m] ?? []
            members.append(r)
        }
        curves = curves.filter { ids.contains($0.key) }
        // The ranking is the summary's, over the same states and best checkpoints.
        let summaries = members.map { r in
            MemberSummary(
                id: MemberID(ensembleID: Int(ens.url.lastPathComponent) ?? 0, member: r.member), rank: r.rank ?? -1,
                state: MemberState(rawValue: r.state.rawValue) ?? .unknown, error: r.error ?? "",
                valLoss: r.validationLoss, best: bests[r.member] ?? nil, iterations: r.iteration, timeTrained: r.timeTrained ?? 0)
        }
        let name = ens.url.deletingLastPathComponent().lastPathComponent + "/" + ens.url.lastPathComponent
        var report = EnsembleReport(
            ensemble: name, task: task, directory: ens.path, members: members,
            ranking: EnsembleSummary.ranking(summaries).map(\.id.member),
            rankedBy: EnsembleSummary.rankedBy(summaries), topK: topK,
            elapsed: live.map { Date().timeIntervalSince($0.started) },
            live: live != nil, final: live?.final ?? false, refreshSeconds: live?.refreshSeconds ?? 60,
            trainingAxisIterations: axis, smoothingWindow: window)
        report.tuning = tuning
        return report
    }

    // MARK: Members

    private func member(_ ens: ResultsDirectory, _ m: Int) -> ResultsDirectory {
        ens.member(m)
    }

    /// Length of `loss.h5` (0 when absent), read from the file's shape unless it is unchanged.
    private func historyLength(_ m: Int, _ dir: ResultsDirectory) throws -> Int {
        let url = dir.file(ResultsSchema.loss)
        guard let stamp = Stamp(url) else { curves[m] = nil; return 0 }
        if let c = curves[m], c.stamp == stamp { return c.length }
        curves[m] = nil
        let shape = try HDF5File(path: url.path, mode: .readOnly).shape("data")
        let length = shape.reduce(1, *)
        curves[m] = CachedCurve(stamp: stamp, length: length)
        return length
    }

    private func readMember(
        _ m: Int, _ dir: ResultsDirectory, axis: Int, window: Int,
        problems: inout [String]
    ) -> MemberReport {
        let status = MemberStatus.read(from: dir)
        var training = TrainingCurve.empty
        if var c = curves[m] {
            if let curve = c.curve, c.axis == axis, c.window == window {
                training = curve
            } else {
                do {
                    let losses = try dir.read(ResultsSchema.loss, as: Double.self).values
                    training = TrainingCurve.reduce(
                        losses, window: window, axisIterations: axis,
                        columns: ReportLayout.curveColumns)
                    c.curve = training
                    c.axis = axis
                    c.window = window
                    curves[m] = c
                } catch {
                    problems.append(Self.problem(dir.file(ResultsSchema.loss), error))
                }
            }
        }
        func optional<T: HDF5Element>(_ d: ResultsDirectory, _ key: String, _ t: T.Type) -> [T] {
            guard d.contains(key) else { return [] }
            do { return try d.read(key, as: T.self).values } catch {
                problems.append(Self.problem(d.file(key), error))
                return []
            }
        }
        // As a resume would see them (a checkpoint killed half-way is left out).
        let checkpointed = CheckpointedHistory.read(dir, problems: &problems, describe: Self.problem)
        let validation = checkpointed.valLoss
        let indices = checkpointed.chkptIndex
        let iterations = checkpointed.chkptIter.map(Int.init)
        let time = optional(dir, ResultsSchema.timeTrained, Double.self).first
        let done = status?.iteration ?? training.iterations
        let state: MemberReport.State
        if let s = status?.state {
            // Recorded as running, but no live run holds it: killed, it resumes as interrupted.
            let s = s == .running && checkpointed.live == false ? .interrupted : s
            state = MemberReport.State(rawValue: s.rawValue) ?? .unknown
        } else if let n = Self.plannedIterations(dir), training.iterations >= n, n > 0 {
            state = .finished  // a flyvis run: no status file, but the whole history is there
        } else {
            state = validation.isEmpty && training.iterations == 0 ? .pending : .unknown
        }
        let rate = time.flatMap { $0 > 0 && done > 0 ? Double(done) / $0 : nil }
        var best: BestCheckpoint?
        do { best = try BestCheckpoint.find(in: dir) } catch { problems.append("\(error)") }
        bests[m] = best
        return MemberReport(
            member: m, name: ResultsSchema.memberFolder(m), state: state, iteration: done,
            iterationsPerSecond: rate, timeTrained: time, training: training, validationLoss: validation,
            checkpointIndices: indices, checkpointIterations: iterations,
            best: best.map { .init(checkpoint: $0.index, taskError: $0.value, metric: $0.metric.path) },
            error: status?.error)
    }

    static func problem(_ url: URL, _ error: any Error) -> String {
        "cannot read '\(url.path)': \(error). The page leaves it out; a running member rewrites it at its next checkpoint, for a finished one restore the file (its checkpoints are unaffected)."
    }

    /// `task.n_iters` from a member's `_meta.yaml` (ours and flyvis's: `config: task: n_iters:`).
    static func plannedIterations(_ dir: ResultsDirectory) -> Int? {
        guard let text = try? dir.readMeta() else { return nil }
        var inConfig = false, inTask = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let indent = line.prefix { $0 == " " }.count
            let body = line.dropFirst(indent)
            if indent == 0 { inConfig = body.hasPrefix("config:"); inTask = false; continue }
            guard inConfig else { continue }
            if indent == 2 { inTask = body.hasPrefix("task:"); continue }
            if inTask, indent == 4, body.hasPrefix("n_iters:") {
                return Int(body.dropFirst("n_iters:".count).trimmingCharacters(in: .whitespaces))
            }
        }
        return nil
    }

    /// The iteration a failure message names ("... at iteration 1234 ..."), if any: the status
    /// file records only the last checkpoint's iteration.
    static func failureIteration(_ message: String?) -> Int? {
        guard let message, let r = message.range(of: "at iteration ") else { return nil }
        return Int(message[r.upperBound...].prefix { $0.isNumber })
    }
}
