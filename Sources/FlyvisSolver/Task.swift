import FlyvisConfig
import FlyvisResults
import FlyvisConnectome
import FlyvisData
import FlyvisTraining
import Foundation

/// flyvis's `Task`: the data set, its train/validation split and the loaders over it, one
/// decoder and one objective per task, and how the tasks are weighted. The solver holds one
/// and trains the network on it. A class: it owns the decoders, whose weights train.
package final class Task {
    /// The rendered sequences; `dataset.config.dt` follows the dt schedule.
    package var dataset: MultiTaskDataset
    /// The target tasks ("flow", "depth"), in the data set's order.
    package let names: [String]
    package let decoders: [String: FlowDecoder]
    package let objectives: [String: Objective]
    package let weights: TaskWeights
    package let batchSize: Int
    /// flyvis's loaders: the shuffled, drop-last training loader; its first batch; the
    /// validation set (batch 1) and its first batch; one sequence for overfitting; and every
    /// training sequence in order (the `training/` subdirectory).
    let trainLoader: Loader, trainBatch: Loader, valData: Loader, valBatch: Loader, overfitLoader: Loader, trainEval: Loader

    /// The loader each checkpoint evaluates into a results split folder.
    func loader(_ split: ResultsSchema.Split) -> Loader {
        switch split {
        case .validation: return valData
        case .validationBatch: return valBatch
        case .training: return trainEval
        case .trainingBatch: return trainBatch
        }
    }

    init(config: Config, root: URL, connectome: Connectome, seed: Int, threads: Int, log: TrainingLog) throws {
        dataset = try MultiTaskDataset(sequences: try Build.sequences(config, root: root, log: log.info),
                                       config: try Build.datasetConfig(config), extent: connectome.extent)
        names = dataset.targetTasks
        guard !names.isEmpty else {
            throw ConfigError.outOfRange(key: "task.dataset.tasks", value: "\(dataset.config.tasks)", allowed: "at least one of flow, depth")
        }
        let split = try Self.split(config, dataset)
        batchSize = try config.int("task.batch_size")
        guard split.train.count >= batchSize else {
            throw SolverError.invalidSplit("only \(split.train.count) training sequences for task.batch_size=\(batchSize)")
        }
        trainLoader = Loader(indices: split.train, batchSize: batchSize, shuffle: true, dropLast: true)
        trainBatch = Loader(indices: Array(split.train.prefix(batchSize)), batchSize: batchSize)
        valData = Loader(indices: split.validation, batchSize: 1)
        valBatch = Loader(indices: Array(split.validation.prefix(batchSize)), batchSize: batchSize)
        overfitLoader = Loader(indices: [0], batchSize: 1)
        trainEval = Loader(indices: split.train, batchSize: batchSize)
        log.info("Data: \(dataset.count) sequences, \(split.train.count) for training (\(trainLoader.count) batches per epoch), \(split.validation.count) for validation.")

        var decoders: [String: FlowDecoder] = [:]
        var objectives: [String: Objective] = [:]
        for task in names {
            let d = try FlowDecoder(config: try Build.decoderConfig(config, task: task), lattice: connectome.lattice,
                                    inChannels: connectome.outputCellTypes.count, seed: UInt64(bitPattern: Int64(seed)))
            d.threads = threads
            guard d.outputPerFrame == (task == "flow" ? 2 : 1) * connectome.lattice.count || d.config.nOutFeatures != nil else {
                throw ConfigError.outOfRange(key: "task.decoder.\(task).shape", value: "\(d.config.shape)",
                                             allowed: "a last entry of \(task == "flow" ? 2 : 1) channels for \(task)")
            }
            decoders[task] = d
            objectives[task] = try Objective.named(try config.string("task.loss.\(task)"), key: "task.loss.\(task)")
        }
        self.decoders = decoders
        self.objectives = objectives
        var weights = TaskWeights(tasks: names)
        if let m = config.value("task.task_weights")?.mapValue {
            var w: [String: Double] = [:]
            for k in m.keys { w[k] = try config.double("task.task_weights.\(k)") }
            weights = TaskWeights(tasks: names, weights: w)
        }
        self.weights = weights
    }

    /// The original Sintel split by scene name, or flyvis's cross-validation folds.
    static func split(_ config: Config, _ dataset: MultiTaskDataset) throws -> (train: [Int], validation: [Int]) {
        if try config.bool("task.original_split") {
            let split = DataSplit.original(names: dataset.names)
            guard !split.train.isEmpty, !split.validation.isEmpty else {
                throw SolverError.invalidSplit("task.original_split=true needs Sintel (or built-in) scene names; found \(dataset.names.prefix(3).joined(separator: ", ")), …; use task.original_split=false")
            }
            return split
        }
        return try DataSplit.crossValidation(count: dataset.count, folds: try config.int("task.n_folds"),
                                             fold: try config.int("task.fold"), seed: try config.int("task.seed"))
    }

    /// The mean over tasks of per-task values (flyvis weighs the tasks equally here).
    func mean(_ perTask: [String: Double]) -> Double {
        names.compactMap { perTask[$0] }.reduce(0, +) / Double(names.count)
    }
}
