import Foundation

/// A network's best checkpoint by flyvis's rule (`best_checkpoint_default_fn` with the
/// `EnsembleView` defaults): the first minimum of `validation/epe` once the post-training
/// validation (`val-single`) has written it, else of `validation/loss`, mapped through
/// `chkpt_index`. Its value is the network's task error, what flyvis's
/// `EnsembleView.task_error()` reports. `--checkpoint best`, the ranking, `best_checkpoints.txt`,
/// the summary and the report all take it from here, so they name the same checkpoint.
///
/// One deliberate difference: NaN entries are passed over (a NaN marks a checkpoint that could
/// not be validated, or a diverged evaluation), where numpy's argmin would choose them.
package struct BestCheckpoint: Equatable, Sendable {
    /// The history a best checkpoint is chosen by.
    package enum Metric: String, Equatable, Sendable, CaseIterable {
        /// End-point error, written by the validation after training.
        case epe
        /// The task objective on the validation set, written at every checkpoint in training.
        case loss

        /// The file's key in the validation folder.
        package var key: String {
            switch self {
            case .epe: return ResultsSchema.epe
            case .loss: return ResultsSchema.loss
            }
        }

        /// `validation/epe` or `validation/loss`, as tables and pages name it.
        package var path: String { "\(ResultsSchema.Split.validation.folder)/\(key)" }
    }

    /// The checkpoint index (`chkpts/chkpt_NNNNN`).
    package var index: Int
    /// The entry of the metric's history it was chosen at.
    package var position: Int
    /// The metric's value there: the task error.
    package var value: Double
    package var metric: Metric

    package init(index: Int, position: Int, value: Double, metric: Metric) {
        self.index = index
        self.position = position
        self.value = value
        self.metric = metric
    }

    /// The rule on plain values: the first minimum of `values` that is not NaN, mapped through
    /// `checkpointIndices` (a missing entry maps to its position). Nil when no value counts.
    package static func choose(_ values: [Double], checkpointIndices: [Int], metric: Metric) -> BestCheckpoint? {
        var best: Int?
        for (i, v) in values.enumerated() where !v.isNaN && (best == nil || v < values[best!]) { best = i }
        guard let i = best else { return nil }
        let index = i < checkpointIndices.count ? checkpointIndices[i] : i
        return BestCheckpoint(index: index, position: i, value: values[i], metric: metric)
    }

    /// The best checkpoint of a network directory by flyvis's rule, or by `metric` when given
    /// (the solver's in-training `best_chkpt_index` is by loss). Nil when the directory has no
    /// validation values yet; a file that exists but does not read is an error naming it.
    package static func find(in directory: ResultsDirectory, metric: Metric? = nil) throws -> BestCheckpoint? {
        let validation = directory.split(.validation)
        var indices: [Int]?
        for m in metric.map({ [$0] }) ?? Metric.allCases where validation.contains(m.key) {
            let values = try validation.read(m.key, as: Double.self).values
            if indices == nil {
                indices =
                    directory.contains(ResultsSchema.chkptIndex)
                    ? try directory.read(ResultsSchema.chkptIndex, as: Int64.self).values.map(Int.init)
                    : CheckpointStore(networkDirectory: directory).indices()
            }
            // An epe file without a value (no checkpoint validated yet) falls back to loss.
            if let best = choose(values, checkpointIndices: indices!, metric: m) { return best }
        }
        return nil
    }
}
