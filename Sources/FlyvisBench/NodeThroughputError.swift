import Foundation

/// Why `bench --concurrent` stopped. A failing rank is named with its pid and the end of its
/// stderr, since that is where its own error went.
package enum NodeThroughputError: Error, CustomStringConvertible, Equatable {
    /// The child process could not be started at all.
    case launch(executable: String, reason: String)
    /// A rank ended (`status`: how) before it should (`when`), or failed after stop.
    case rankEnded(rank: String, pid: Int32, status: String, when: String, stderrTail: String)
    /// A rank wrote a result line that is not its repetitions' times.
    case malformedResult(rank: String, line: String, repetitions: Int)
    /// A rank could not be told to go or stop (its stdin is closed: it has exited).
    case unreachable(rank: String, pid: Int32, stderrTail: String)
    /// In a child: the parent closed stdin or could not be written to.
    case parentGone
    /// In a child: building the network or an iteration failed.
    case childWorkload(String)

    package var description: String {
        switch self {
        case let .launch(executable, reason):
            return "bench --concurrent: cannot start the child process '\(executable)': \(reason)"
        case let .rankEnded(rank, pid, status, when, stderrTail):
            return "bench --concurrent: \(rank) (pid \(pid)) \(status) \(when); "
                + "every child was stopped. Its stderr ends:\n\(tail(stderrTail))"
        case let .malformedResult(rank, line, repetitions):
            return "bench --concurrent: \(rank) sent '\(line)' instead of \(repetitions) positive times in ms; "
                + "are the parent and child the same build?"
        case let .unreachable(rank, pid, stderrTail):
            return "bench --concurrent: \(rank) (pid \(pid)) no longer reads its stdin; every child was stopped. "
                + "Its stderr ends:\n\(tail(stderrTail))"
        case .parentGone:
            return "bench: the node-throughput parent has gone (stdin or stdout closed); stopping"
        case let .childWorkload(reason):
            return "bench: the node-throughput workload failed: \(reason)"
        }
    }

    private func tail(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? "(nothing)" : trimmed
    }
}
