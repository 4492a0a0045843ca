import FlyvisData
import Foundation

/// flyvis's `Task` (named apart from Swift's concurrency `Task`): the data set, its
/// train/validation split and the loaders over it, one decoder and one objective per task, and how the tasks are weighted. The solver holds one
/// and trains the network on it (built from the config by the solver's `Build.task`). A class:
/// it owns the decoders, whose weights train.
package final class TrainingTask {
    /// The rendered sequences; `dataset.config.dt` follows the dt schedule.
    package var dataset: MultiTaskDataset
    /// The target tasks ("flow", "depth"), in the data set's order.
    package let names: [String]
    package let decoders: [String: DecoderGAVP]
    package let objectives: [String: Objective]
    package let weights: TaskWeights
    package let batchSize: Int
    /// flyvis's loaders: the shuffled, drop-last training loader; its first batch; the
    /// validation set (batch 1) and its first batch; one sequence for overfitting; and every
    /// training sequence in order (the `training/` subdirectory).
    package let trainLoader: Loader, trainBatch: Loader, valData: Loader, valBatch: Loader, overfitLoader: Loader, trainEval: Loader

    /// `split` holds sequence indices of `dataset`; the training part must fill a batch.
    package init(
        dataset: MultiTaskDataset, split: (train: [Int], validation: [Int]), batchSize: Int,
        decoders: [String: DecoderGAVP], objectives: [String: Objective], weights: TaskWeights
    ) {
        precondition(split.train.count >= batchSize, "the training split must fill one batch")
        self.dataset = dataset
        names = dataset.targetTasks
        self.batchSize = batchSize
        trainLoader = Loader(indices: split.train, batchSize: batchSize, shuffle: true, dropLast: true)
        trainBatch = Loader(indices: Array(split.train.prefix(batchSize)), batchSize: batchSize)
        valData = Loader(indices: split.validation, batchSize: 1)
        valBatch = Loader(indices: Array(split.validation.prefix(batchSize)), batchSize: batchSize)
        overfitLoader = Loader(indices: [0], batchSize: 1)
        trainEval = Loader(indices: split.train, batchSize: batchSize)
        self.decoders = decoders
        self.objectives = objectives
        self.weights = weights
    }

    /// The mean over tasks of per-task values (flyvis weighs the tasks equally here).
    package func mean(_ perTask: [String: Double]) -> Double {
        names.compactMap { perTask[$0] }.reduce(0, +) / Double(names.count)
    }
}
