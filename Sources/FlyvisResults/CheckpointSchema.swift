import Foundation

/// The names of the checkpoint schema, in one place: the keys flyvis's
/// `MultiTaskSolver.checkpoint()` writes, torch's optimizer `state_dict()` fields, our own
/// addition, and the results files that say which checkpoint is which.
package enum CheckpointSchema {
    package static let folder = "chkpts"
    /// Every checkpoint file's name starts so; the first run of digits after it is its index.
    package static let filePrefix = "chkpt_"
    package static func fileName(index: Int) -> String { filePrefix + String(format: "%05d", index) }

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
