/// What can stop a stimulus-response run, each with the fix in its message.
package enum ResponsesError: Error, CustomStringConvertible, Equatable {
    case invalidParameter(String)
    case noMembers(directory: String)
    case member(name: String, reason: String)
    case noSpace(path: String, needed: Int, available: Int)
    case otherRank(rank: Int)
    case interrupted

    package var description: String {
        switch self {
        case let .invalidParameter(text):
            return text
        case let .noMembers(directory):
            return
                "'\(directory)' holds no member directories (NNN/ with _meta.yaml and chkpts/); pass an ensemble directory such as <root>/results/flow/0000"
        case let .member(name, reason):
            return "member \(name): \(reason)"
        case let .noSpace(path, needed, available):
            return String(
                format: "not enough space for '%@': it needs %.1f MB and %.1f MB are free; free space and rerun", path,
                Double(needed) / 1e6, Double(available) / 1e6)
        case let .otherRank(rank):
            return "rank \(rank) failed (its error is above); nothing was written"
        case .interrupted:
            return "stopped by a signal; nothing was written (rerun to compute the responses)"
        }
    }
}
