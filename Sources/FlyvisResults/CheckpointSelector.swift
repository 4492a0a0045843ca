import Foundation

/// Which checkpoint of a network directory to use: flyvis's `best`, the last one, or an index.
package enum CheckpointSelector: Equatable, Sendable, CustomStringConvertible {
    case best, last, index(Int)

    /// Parses `best`, `last` or a non-negative index.
    package init?(_ text: String) {
        switch text {
        case "best": self = .best
        case "last": self = .last
        default:
            guard let i = Int(text), i >= 0 else { return nil }
            self = .index(i)
        }
    }

    package var description: String {
        switch self {
        case .best: return "best"
        case .last: return "last"
        case let .index(i): return String(i)
        }
    }

    /// The checkpoint index this selects in `directory`: `best` by flyvis's rule
    /// (`BestCheckpoint`), `last` the newest file, an index that file.
    package func resolve(in directory: ResultsDirectory) throws(ResultsError) -> Int {
        let store = CheckpointStore(networkDirectory: directory)
        let onDisk = store.indices()
        guard !onDisk.isEmpty else { throw .noValidCheckpoint(directory: directory.path, problems: []) }
        switch self {
        case .last:
            return onDisk.last!
        case let .index(i):
            guard onDisk.contains(i) else {
                throw .missingCheckpoint(directory: directory.path, selector: description, available: onDisk)
            }
            return i
        case .best:
            let best: BestCheckpoint?
            do { best = try BestCheckpoint.find(in: directory) } catch {
                throw .noValidCheckpoint(directory: directory.path, problems: ["\(error)"])
            }
            if let best {
                guard onDisk.contains(best.index) else {
                    throw .missingCheckpoint(
                        directory: directory.path, selector: "best (position \(best.position) of \(best.metric.path))",
                        available: onDisk)
                }
                return best.index
            }
            // flyvis's pretrained models ship only their best checkpoint and no losses.
            if onDisk.count == 1 { return onDisk[0] }
            throw .noValidCheckpoint(
                directory: directory.path, problems: ["no validation losses to choose the best checkpoint; use last or an index"])
        }
    }
}
