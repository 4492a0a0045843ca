import Foundation

/// The names of flyvis's results tree, in one place, so that the solver, the ensemble, the
/// report, the CLI and the tests agree on them:
///
///     <root>/results/<task_name>/<EEEE>/<NNN>/   one network (datamate directory)
///         _meta.yaml  _status.yaml  train.log  chkpts/chkpt_00000 …
///         loss.h5  activity*.h5  chkpt_index.h5  chkpt_iter.h5  time_trained.h5
///         validation/loss.h5 l2norm.h5 epe.h5   validation_batch/  training/  training_batch/
///     <root>/results/<task_name>/<EEEE>/        the ensemble
///         ensemble_summary.h5  ensemble_status.md  ensemble_report.html  ranking.txt
///         best_checkpoints.txt  NNNN_train.log
///
/// Checkpoint contents have their own schema (`CheckpointSchema`).
package enum ResultsSchema {
    /// The folder below the root that holds every task (flyvis's `results_dir`).
    package static let resultsFolder = "results"

    /// flyvis's `f"{ensemble_id:04}"`.
    package static func ensembleFolder(_ ensembleID: Int) -> String { String(format: "%04d", ensembleID) }
    /// flyvis's `f"{network_id:03}"`.
    package static func memberFolder(_ member: Int) -> String { String(format: "%03d", member) }

    // MARK: A network directory

    /// datamate's config of the directory (the training config, `type: NetworkDir`).
    package static let meta = "_meta.yaml"
    /// Our member state (finished, failed, interrupted), beside `_meta.yaml`.
    package static let status = "_status.yaml"
    package static let trainLog = "train.log"
    /// The member lock (`flock`), hidden like datamate's own files.
    package static let lock = ".flyvis.lock"

    /// The weighted loss: per iteration in the network directory, per checkpoint in each
    /// split folder (`<key>.h5`, like every key here).
    package static let loss = "loss"
    /// Each task's weighted loss, beside `loss`.
    package static func taskLoss(_ task: String) -> String { "loss_\(task)" }
    /// Per-iteration activity statistics (mean, min, max over the network).
    package static let activity = "activity", activityMin = "activity_min", activityMax = "activity_max"
    /// The per-iteration histories besides the task losses.
    package static let histories = [loss, activity, activityMin, activityMax]

    package static let timeTrained = "time_trained"
    package static let chkptIndex = "chkpt_index"
    package static let chkptIter = "chkpt_iter"
    package static let bestChkptIndex = "best_chkpt_index"

    /// The evaluation subfolders flyvis writes at each checkpoint, each with a `loss.h5`.
    package enum Split: String, CaseIterable, Sendable {
        case validation, validationBatch = "validation_batch", training, trainingBatch = "training_batch"
        package var folder: String { rawValue }
    }

    /// The iteration of each checkpoint, in each split folder (beside `loss`, `loss_<task>`).
    package static let splitIteration = "iteration"
    /// The integration time step of the run (a scalar).
    package static let dt = "dt"
    /// Written by `val-single` into `validation/`.
    package static let l2norm = "l2norm", epe = "epe"

    // MARK: An ensemble directory

    package static let ensembleSummary = "ensemble_summary.h5"
    package static let ensembleStatus = "ensemble_status.md"
    package static let ensembleReport = "ensemble_report.html"
    /// The members by task error, as text, and each ranked member's best checkpoint.
    package static let ranking = "ranking.txt"
    package static let bestCheckpoints = "best_checkpoints.txt"
    /// Each member's log in the ensemble folder (rank-local runs write them side by side).
    package static func memberLog(_ member: Int) -> String { String(format: "%04d_train.log", member) }
    /// The ensemble lock (`flock`) the job holds for its whole run: one job per ensemble.
    package static let ensembleLock = ".flyvis-ensemble.lock"
}
