import Foundation

/// Everything the ensemble report shows, as plain values. A loader fills it (from a live job's
/// status table or from member directories); `ReportPage.render` draws it. Keeping the two
/// apart lets the drawing be tested without files or MPI.
package struct EnsembleReport: Sendable, Equatable {
    /// e.g. "flow/0045".
    package var ensemble: String
    package var task: String
    package var directory: String
    package var members: [MemberReport]
    /// Member numbers in ranking order, best first (the loader takes it from the summary's
    /// ranking, so page and `ranking.txt` agree).
    package var ranking: [Int]
    /// What the ranking is by, e.g. "task error = min. validation/epe".
    package var rankedBy: String
    package var topK: Int?
    /// Wall time since the job started (live job), or nil when unknown (offline report).
    package var elapsed: TimeInterval?
    /// Written by a running job: the page reloads itself until no member is running or pending,
    /// or until the job's `final` update.
    package var live: Bool
    package var final: Bool
    package var refreshSeconds: Int
    package var generated: Date
    /// Iterations the training-loss axis spans (the planned `n_iters`, or the longest history).
    package var trainingAxisIterations: Int
    /// Trailing running-mean window of the training curves, in iterations.
    package var smoothingWindow: Int
    /// The members' tuning readout (`<ens>/responses/tuning.h5`), when there is one.
    package var tuning: TuningReport?

    package init(
        ensemble: String, task: String, directory: String, members: [MemberReport], ranking: [Int] = [],
        rankedBy: String = "task error", topK: Int? = nil,
        elapsed: TimeInterval? = nil, live: Bool = false, final: Bool = false, refreshSeconds: Int = 60, generated: Date = Date(),
        trainingAxisIterations: Int, smoothingWindow: Int
    ) {
        self.ensemble = ensemble
        self.task = task
        self.directory = directory
        self.members = members
        self.ranking = ranking
        self.rankedBy = rankedBy
        self.topK = topK
        self.elapsed = elapsed
        self.live = live
        self.final = final
        self.refreshSeconds = refreshSeconds
        self.generated = generated
        self.trainingAxisIterations = trainingAxisIterations
        self.smoothingWindow = smoothingWindow
    }

    package func count(_ state: MemberReport.State) -> Int { members.filter { $0.state == state }.count }

    /// Reload only while something can still change, so a finished page stays put.
    package var refreshes: Bool { live && !final && members.contains { $0.state == .running || $0.state == .pending } }

    /// The job's iterations per second: the sum over running members of their latest rate; with
    /// nothing running, the sum of the members' average rates (labelled as such on the page).
    package var aggregateRate: (value: Double, runningOnly: Bool)? {
        let running = members.filter { $0.state == .running }.compactMap(\.iterationsPerSecond)
        if !running.isEmpty { return (running.reduce(0, +), true) }
        let all = members.compactMap(\.iterationsPerSecond)
        return all.isEmpty ? nil : (all.reduce(0, +), false)
    }

    /// Seconds until the running and pending members reach their totals at the aggregate rate.
    package var eta: TimeInterval? {
        guard let rate = aggregateRate, rate.runningOnly, rate.value > 0 else { return nil }
        let planned = members.compactMap(\.totalIterations).max() ?? 0
        let remaining = members.filter { $0.state == .running || $0.state == .pending }
            .map { max(0, ($0.totalIterations ?? planned) - $0.iteration) }.reduce(0, +)
        return Double(remaining) / rate.value
    }

    /// Members in ranking order: the order the loader gives (`ranking`, the ensemble summary's),
    /// then any member it does not list, by id.
    package var ranked: [MemberReport] {
        let position = Dictionary(uniqueKeysWithValues: ranking.enumerated().map { ($1, $0) })
        return members.sorted { a, b in
            switch (position[a.member], position[b.member]) {
            case let (x?, y?): return x < y
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a.member < b.member
            }
        }
    }

    /// Members marked top-k: the first k of the ranking with a finite loss that did not fail.
    package var topMembers: Set<Int> {
        let eligible = ranked.filter { $0.state != .failed && $0.taskError != nil }
        return Set(eligible.prefix(topK ?? eligible.count).map(\.member))
    }
}
