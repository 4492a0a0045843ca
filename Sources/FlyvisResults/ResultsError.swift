import Foundation

/// Errors from the results tree, each naming the file and what to do.
package enum ResultsError: Error, CustomStringConvertible, Equatable {
    case missingKey(directory: String, key: String)
    case corruptCheckpoint(path: String, reason: String)
    case noValidCheckpoint(directory: String, problems: [String])
    case missingCheckpoint(directory: String, selector: String, available: [Int])
    /// A member's stored config exists (or must exist) but cannot be read. Its identity
    /// (extent, task, training length) is never guessed from the defaults.
    case unreadableMeta(path: String, reason: String)

    package var description: String {
        switch self {
        case let .unreadableMeta(path, reason):
            return "the stored config '\(path)' cannot be read (\(reason)); it defines this member (network, task, training length), "
                + "so nothing was run or written. Restore the file (from a backup, or a sibling member's with its own seed), "
                + "or start the member over with delete_if_exists=true"
        case let .missingKey(directory, key):
            return "results directory '\(directory)' has no '\(key).h5'"
        case let .corruptCheckpoint(path, reason):
            return "checkpoint '\(path)' is unusable (\(reason)); it will be skipped"
        case let .noValidCheckpoint(directory, problems):
            let detail = problems.isEmpty ? "none were written yet" : problems.joined(separator: "; ")
            return "no readable checkpoint in '\(directory)/chkpts' (\(detail)); start without resume=true"
        case let .missingCheckpoint(directory, selector, available):
            return
                "'\(directory)' has no checkpoint \(selector); it has \(available.map(String.init).joined(separator: ", ")) (choose best, last or one of these)"
        }
    }
}
