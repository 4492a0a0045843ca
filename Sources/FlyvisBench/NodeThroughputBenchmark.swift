import Foundation

/// `bench --concurrent K`: does a rank keep its speed when its neighbours train too? On a
/// cluster node, one single-thread training process per core shares the L3 cache and the
/// memory bandwidth with all the others; a workload that fits one core's share of neither
/// slows down as the node fills, which a solo benchmark never shows.
///
/// Each round times one solo child, then K children at once (the order alternates between
/// rounds, so that drift in the machine's load affects both). Every child is this executable
/// running the iteration workload on one thread (NodeThroughputChild), started with
/// `childArguments`; all K build and warm up, are released together, and keep iterating
/// untimed until every one has reported, so each timed repetition overlaps with K - 1 busy
/// neighbours. Throughput is the solo median over all rounds against the mean of each rank's
/// median: 100 % means no slowdown at all.
package struct NodeThroughputBenchmark: Sendable {
    package var ranks: Int
    package var rounds: Int
    package var repetitions: Int
    package var executable: URL
    package var childArguments: [String]

    package init(ranks: Int, rounds: Int, repetitions: Int, executable: URL, childArguments: [String]) {
        self.ranks = ranks
        self.rounds = rounds
        self.repetitions = repetitions
        self.executable = executable
        self.childArguments = childArguments
    }

    /// One round's iteration times in ms: the solo child's, and each of the K ranks'.
    package struct Round: Sendable {
        package var soloFirst: Bool
        package var soloMs: [Double]
        package var rankMs: [[Double]]
    }

    package struct Result: Sendable {
        package var ranks: Int
        package var rounds: [Round]

        /// The median of every solo repetition of every round.
        package var soloMedianMs: Double { median(rounds.flatMap(\.soloMs)) }
        /// Each rank's median over all its repetitions in all rounds.
        package var rankMedianMs: [Double] { (0..<ranks).map { r in median(rounds.flatMap { $0.rankMs[r] }) } }
        /// 100 × solo median / mean of the ranks' medians.
        package var throughputPercent: Double {
            let medians = rankMedianMs
            return 100 * soloMedianMs / (medians.reduce(0, +) / Double(medians.count))
        }
        /// 100 × solo median / the slowest rank's median.
        package var slowestRankPercent: Double { 100 * soloMedianMs / rankMedianMs.max()! }

        /// The closing lines: overall medians and the two throughput figures.
        package var summaryLines: [String] {
            ["ours node_solo_ms: \(format(soloMedianMs))"]
                + rankMedianMs.enumerated().map { "ours node_rank\($0.offset)_ms: \(format($0.element))" }
                + [
                    "node throughput (\(ranks) ranks): \(String(format: "%.1f", throughputPercent)) % of solo",
                    "node throughput slowest rank (\(ranks) ranks): \(String(format: "%.1f", slowestRankPercent)) % of solo",
                ]
        }
    }

    /// Runs every round, passing each line to `report` as soon as it is known (the rounds'
    /// medians, then `Result.summaryLines`). Any failing child stops the run: every child is
    /// killed and the error names the failing one and the end of its stderr.
    package func run(report: (String) -> Void) throws(NodeThroughputError) -> Result {
        ChildReaper.install()
        defer { ChildReaper.uninstall() }
        report("ours node_ranks: \(ranks)")
        report("ours node_repetitions: \(repetitions) per rank and round, \(rounds) rounds, 1 thread per rank")
        var done: [Round] = []
        for index in 0..<rounds {
            let soloFirst = index % 2 == 0
            var solo: [Double] = [], together: [[Double]] = []
            for isSolo in soloFirst ? [true, false] : [false, true] {
                if isSolo { solo = try runPhase(ranks: 1)[0] } else { together = try runPhase(ranks: ranks) }
            }
            let round = Round(soloFirst: soloFirst, soloMs: solo, rankMs: together)
            done.append(round)
            let n = index + 1
            report("ours node_round\(n): \(soloFirst ? "solo, then \(ranks) ranks" : "\(ranks) ranks, then solo")")
            report("ours node_round\(n)_solo_ms: \(format(median(round.soloMs)))")
            for (r, ms) in round.rankMs.enumerated() { report("ours node_round\(n)_rank\(r)_ms: \(format(median(ms)))") }
        }
        let result = Result(ranks: ranks, rounds: done)
        for line in result.summaryLines { report(line) }
        return result
    }

    /// Starts `ranks` children, releases them together once all are warm, collects their
    /// times, stops them and checks that they exited cleanly.
    private func runPhase(ranks count: Int) throws(NodeThroughputError) -> [[Double]] {
        let messages = RankMessages()
        var children: [RankProcess] = []
        do throws(NodeThroughputError) {
            for r in 0..<count {
                let name = count == 1 ? "the solo child" : "rank \(r) of \(count)"
                children.append(
                    try RankProcess(name: name, rank: r, executable: executable, arguments: childArguments, messages: messages))
            }
            _ = try collect(from: children, messages, expected: "ready") { $0 == NodeThroughputChild.readyLine }
            for child in children { try tell(child, NodeThroughputChild.goLine) }
            let lines = try collect(from: children, messages, expected: "its times") { $0.hasPrefix(NodeThroughputChild.resultPrefix) }
            var times: [[Double]] = []
            for (child, line) in zip(children, lines) {
                let ms = line.dropFirst(NodeThroughputChild.resultPrefix.count).split(separator: " ").map { Double($0) ?? .nan }
                guard ms.count == repetitions, ms.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                    throw NodeThroughputError.malformedResult(rank: child.name, line: line, repetitions: repetitions)
                }
                times.append(ms)
            }
            for child in children { try tell(child, NodeThroughputChild.stopLine) }
            var open = Set(0..<count)
            while !open.isEmpty {
                if case let .closed(r) = messages.next() { open.remove(r) }
            }
            for child in children {
                let status = child.finish(grace: 30)
                guard child.succeeded else {
                    throw NodeThroughputError.rankEnded(
                        rank: child.name, pid: child.pid, status: status, when: "after stop",
                        stderrTail: child.stderrTail)
                }
            }
            return times
        } catch {
            for child in children { child.finish(grace: 0) }
            throw error
        }
    }

    /// Waits until every child has written a line `accepts` takes and returns those lines in
    /// rank order; other lines are ignored. A child that closes its output first ends the
    /// phase with its exit status and stderr.
    private func collect(
        from children: [RankProcess], _ messages: RankMessages, expected: String, accepts: (String) -> Bool
    ) throws(NodeThroughputError) -> [String] {
        var got: [String?] = Array(repeating: nil, count: children.count)
        while got.contains(where: { $0 == nil }) {
            switch messages.next() {
            case let .line(r, text):
                if got[r] == nil, accepts(text) { got[r] = text }
            case let .closed(r):
                // Also after its line: a rank that quits early leaves its neighbours' timing alone.
                let child = children[r]
                let status = child.finish(grace: 5)
                let when = got[r] == nil ? "before it reported \(expected)" : "before the parent's stop, while others were timing"
                throw .rankEnded(rank: child.name, pid: child.pid, status: status, when: when, stderrTail: child.stderrTail)
            }
        }
        return got.map { $0! }
    }

    private func tell(_ child: RankProcess, _ line: String) throws(NodeThroughputError) {
        guard child.send(line) else {
            child.finish(grace: 5)
            throw .unreachable(rank: child.name, pid: child.pid, stderrTail: child.stderrTail)
        }
    }
}

/// Milliseconds with two decimals, as every `bench` figure.
private func format(_ ms: Double) -> String { String(format: "%.2f", ms) }
