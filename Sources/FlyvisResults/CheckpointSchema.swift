import Foundation

/// The names of the checkpoint schema, in one place: the keys flyvis's
/// `MultiTaskSolver.checkpoint()` writes, torch's optimizer `state_dict()` fields, our own
/// addition, and the results files that say which checkpoint is which.
package enum CheckpointSchema {
    package static let folder = "chkpts"
    package static func fileName(index: Int) -> String { String(format: "chkpt_%05d", index) }

    // Top-level keys, in flyvis's order.
    package static let network = "network"
    package static let decoder = "decoder"
    package static let optim = "optim"
    package static let time = "time"
    package static let valLoss = "val_loss"
    package static let iteration = "iteration"
    package static let dt = "dt"
    package static let activityOptim = "activity_optim"
    /// Our addition (generator states, epoch counter, training time); flyvis ignores it.
    package static let resume = "flyvis_swift"


    // Optimizer state_dict fields.
    package static let state = "state"
    package static let paramGroups = "param_groups"
    package static let params = "params"
    package static let step = "step"
    package static let expAvg = "exp_avg"
    package static let expAvgSq = "exp_avg_sq"

    // ResumeState fields.
    package static let formatKey = "format"
    package static let format = "flyvis-swift checkpoint 2"
    package static let dataRNG = "data_rng"
    package static let dropoutRNG = "dropout_rng"
    package static let epochsDone = "epochs_done"
    package static let timeTrained = "time_trained"
}

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
