import FlyvisBase
import FlyvisConfig
import FlyvisConnectome
import FlyvisData
import FlyvisResults
import FlyvisTask
import Foundation

extension Build {
    /// The task a config describes: the data set (rendered or from the cache), its split, one
    /// decoder and objective per target task, and the task weights.
    static func task(
        _ config: Config, root: URL, connectome: Connectome, seed: Int, threads: Int, log: TrainingLog,
        stop: @escaping () -> Bool = { false }
    ) throws -> TrainingTask {
        let dataset = try MultiTaskDataset(
            sequences: try sequences(config, root: root, log: log.info, stop: stop),
            config: try datasetConfig(config), extent: connectome.extent)
        let names = dataset.targetTasks
        guard !names.isEmpty else {
            throw ConfigError.outOfRange(
                key: "task.dataset.tasks", value: "\(dataset.config.tasks)", allowed: "at least one of flow, depth")
        }
        let split = try self.split(config, dataset)
        let batchSize = try config.int("task.batch_size")
        guard split.train.count >= batchSize else {
            throw SolverError.invalidSplit("only \(split.train.count) training sequences for task.batch_size=\(batchSize)")
        }
        var decoders: [String: DecoderGAVP] = [:]
        var objectives: [String: Objective] = [:]
        for task in names {
            let d = try DecoderGAVP(
                config: try decoderConfig(config, task: task), lattice: connectome.lattice,
                inChannels: connectome.outputCellTypes.count, seed: UInt64(bitPattern: Int64(seed)))
            d.threads = threads
            let channels = d.config.task.targetChannels ?? 1
            guard d.outputPerFrame == channels * connectome.lattice.count || d.config.nOutFeatures != nil else {
                throw ConfigError.outOfRange(
                    key: "task.decoder.\(task).shape", value: "\(d.config.shape)",
                    allowed: "a last entry of \(channels) channels for \(task)")
            }
            decoders[task] = d
            objectives[task] = try Objective.named(try config.string("task.loss.\(task)"), key: "task.loss.\(task)")
        }
        var weights = TaskWeights(tasks: names)
        if let m = config.value("task.task_weights")?.mapValue {
            var w: [String: Double] = [:]
            for k in m.keys { w[k] = try config.double("task.task_weights.\(k)") }
            weights = TaskWeights(tasks: names, weights: w)
        }
        let task = TrainingTask(
            dataset: dataset, split: split, batchSize: batchSize, decoders: decoders, objectives: objectives,
            weights: weights)
        log.info(
            "Data: \(dataset.count) sequences, \(split.train.count) for training (\(task.trainLoader.count) batches per epoch), \(split.validation.count) for validation."
        )
        return task
    }

    /// The original Sintel split by scene name, or flyvis's cross-validation folds.
    static func split(_ config: Config, _ dataset: MultiTaskDataset) throws -> (train: [Int], validation: [Int]) {
        if try config.bool("task.original_split") {
            let split = DataSplit.original(names: dataset.names)
            guard !split.train.isEmpty, !split.validation.isEmpty else {
                throw SolverError.invalidSplit(
                    "task.original_split=true needs Sintel (or built-in) scene names; found \(dataset.names.prefix(3).joined(separator: ", ")), …; use task.original_split=false"
                )
            }
            return split
        }
        return try DataSplit.crossValidation(
            count: dataset.count, folds: try config.int("task.n_folds"),
            fold: try config.int("task.fold"), seed: try config.int("task.seed"))
    }
}

extension TrainingTask {
    /// The loader each checkpoint evaluates into a results split folder.
    func loader(_ split: ResultsSchema.Split) -> Loader {
        switch split {
        case .validation: return valData
        case .validationBatch: return valBatch
        case .training: return trainEval
        case .trainingBatch: return trainBatch
        }
    }
}
