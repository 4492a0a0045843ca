import FlyvisReport
import FlyvisResults
import Foundation

/// Rank 0's live view of the ensemble: one row per member, built from progress reports.
struct StatusTable {
    struct Row {
        var member: Int
        var rank: Int = -1
        var state = MemberState.pending
        var iteration = 0
        var total = 0
        var latest: Double?
        var best: Double?
        var rate: Double?
        var error: String?
    }

    private(set) var rows: [Int: Row] = [:]
    private var order: [Int] = []
    let started = Date()

    mutating func start(members: Range<Int>) {
        order = Array(members)
        for m in members { rows[m] = Row(member: m) }
    }

    /// Applies a report; returns whether anything visible changed.
    mutating func update(_ r: ProgressReport) -> Bool {
        var row = rows[r.member] ?? Row(member: r.member)
        if rows[r.member] == nil { order.append(r.member) }
        let before = (row.state, row.iteration, row.latest)
        row.rank = r.rank
        row.state = r.state
        row.iteration = r.iteration
        if r.totalIterations > 0 { row.total = r.totalIterations }
        if let v = r.valLoss { row.latest = v }
        if let b = r.bestValLoss { row.best = b } else if let v = r.valLoss, v < (row.best ?? .infinity) { row.best = v }
        if let rate = r.iterationsPerSecond { row.rate = rate }
        if let e = r.error { row.error = e }
        rows[r.member] = row
        return before.0 != row.state || before.1 != row.iteration || before.2 != row.latest
    }

    /// The rows as the report sees them.
    func liveMembers() -> [Int: LiveMember] {
        rows.mapValues { r in
            LiveMember(
                state: MemberReport.State(rawValue: r.state.rawValue) ?? .unknown, rank: r.rank >= 0 ? r.rank : nil,
                iteration: r.iteration, totalIterations: r.total > 0 ? r.total : nil,
                iterationsPerSecond: r.rate, error: r.error)
        }
    }

    /// Seconds until a member finishes at its current rate, if known.
    func eta(_ row: Row) -> Double? {
        guard row.state == .running, let rate = row.rate, rate > 0, row.total > row.iteration else { return nil }
        return Double(row.total - row.iteration) / rate
    }

    func markdown(title: String) -> String {
        let counts = Dictionary(grouping: rows.values, by: \.state).mapValues(\.count)
        let summary = [MemberState.running, .finished, .failed, .interrupted, .pending]
            .compactMap { s in counts[s].map { "\($0) \(s.rawValue)" } }.joined(separator: ", ")
        let elapsed = Int(Date().timeIntervalSince(started))
        var lines = [
            "# \(title)", "",
            "Updated \(ISO8601DateFormatter().string(from: Date())); elapsed \(elapsed) s; \(summary).", "",
            "| member | rank | state | iteration | latest val loss | best val loss | it/s | ETA |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for m in order {
            guard let r = rows[m] else { continue }
            let progress = r.total > 0 ? "\(r.iteration)/\(r.total)" : "\(r.iteration)"
            lines.append(
                "| \(ResultsSchema.memberFolder(m)) | \(r.rank >= 0 ? String(r.rank) : "-") | \(r.state) | \(progress) | "
                    + "\(format(r.latest)) | \(format(r.best)) | \(r.rate.map { String(format: "%.2f", $0) } ?? "-") | "
                    + "\(eta(r).map(duration) ?? "-") |")
        }
        let errors = order.compactMap { m in rows[m]?.error.map { "- \(ResultsSchema.memberFolder(m)): \($0)" } }
        if !errors.isEmpty { lines += ["", "Errors:"] + errors }
        return lines.joined(separator: "\n") + "\n"
    }

    private func format(_ v: Double?) -> String { v.map { String(format: "%.6f", $0) } ?? "-" }

    private func duration(_ s: Double) -> String {
        let t = Int(s)
        return t >= 3600 ? String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }
}
