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

    /// The checkpoint index this selects in `directory`, by flyvis's rules: `best` is the first
    /// minimum of `validation/epe` (else `validation/loss`), mapped through `chkpt_index`.
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
            let validation = directory.split(.validation)
            for name in ResultsSchema.bestLossFiles {
                guard let losses = try? validation.read(name, as: Double.self).values, !losses.isEmpty else { continue }
                let indices = (try? directory.read(ResultsSchema.chkptIndex, as: Int64.self).values.map(Int.init)) ?? onDisk
                guard let i = losses.indices.filter({ !losses[$0].isNaN }).min(by: { losses[$0] < losses[$1] }) else { continue }
                guard i < indices.count, onDisk.contains(indices[i]) else {
                    throw .missingCheckpoint(directory: directory.path, selector: "best (position \(i) of validation/\(name))", available: onDisk)
                }
                return indices[i]
            }
            // flyvis's pretrained models ship only their best checkpoint and no losses.
            if onDisk.count == 1 { return onDisk[0] }
            throw .noValidCheckpoint(directory: directory.path, problems: ["no validation losses to choose the best checkpoint; use last or an index"])
        }
    }
}
