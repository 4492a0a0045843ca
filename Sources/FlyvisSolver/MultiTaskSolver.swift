import FlyvisBase
import FlyvisConfig
import FlyvisConnectome
import FlyvisData
import FlyvisHDF5
import FlyvisNetwork
import FlyvisRandom
import FlyvisResults
import FlyvisTask
import FlyvisTraining
import Foundation

/// flyvis's MultiTaskSolver: trains one network by BPTT, checkpoints and validates it in a
/// flyvis-compatible results directory, and resumes exactly after any interruption.
/// A class: it owns the network, decoders, optimizers, data generators and histories.
package final class MultiTaskSolver {
    package let config: Config
    package let directory: ResultsDirectory
    /// Held while this solver exists: no other process writes this directory meanwhile.
    let memberLock: MemberLock?
    package let log: TrainingLog
    package let network: Network
    package let step: TrainingStep
    /// The data, loaders, decoders and objectives (flyvis's Task).
    package let task: TrainingTask
    package let scheduler: HyperParameterScheduler
    let nIters: Int
    let chkptEveryEpoch: Int
    let tPreTrain: Double
    let initialParameters: NetworkParameters

    /// State that checkpoints save.
    package private(set) var iteration = 0
    package private(set) var epochsDone = 0
    package private(set) var checkpointIndex = -1
    package private(set) var bestValLoss = Double.infinity
    package private(set) var bestCheckpoint = -1
    var dataRNG: RandomState
    var timeTrained = 0.0
    var histories: [String: [Double]] = [:]
    var dt: Double
    /// Seconds between progress lines in the log (30 s; tests shorten it).
    /// Seconds between progress lines (and progress hooks) between checkpoints.
    package var progressInterval: TimeInterval = 30

    static let historyKeys = ResultsSchema.histories
    /// Keys that may differ on resume: the length of training, bookkeeping flags, and where
    /// the data lives (a moved Sintel copy is the same data set).
    static let resumeInvariantKeys = Set(
        ["task.n_iters", "description", "save_environment", "task.dataset.sintel_path"]
            + RunFlag.allCases.map(\.key))
    /// Keys stored in `_meta.yaml` (flyvis's order, plus our seed and warm-up).
    static let metaKeys = ["network_name", "network", "task", "optim", "penalizer", "scheduler", "description", "seed", "t_pre_train"]

    /// The config to train with: `overrides` over the defaults; with `resume=true` and an
    /// existing `_meta.yaml` (ours or flyvis's), the stored config is the base instead, so a
    /// resume needs none of the training overrides repeated (those given must still be
    /// compatible, see `resumeInvariantKeys`).
    package static func resolveConfig(overrides: [String], configDirs: [URL] = [], root: URL) throws -> Config {
        let config = try Build.loadConfig(overrides: overrides, configDirs: configDirs)
        guard try config.bool(RunFlag.resume.key), let name = try? config.string("network_name") else { return config }
        // A malformed name is reported, with the form expected, when the directory is opened.
        guard let directory = try? ResultsLayout(root: root).network(name: name), let meta = try directory.readMeta() else { return config }
        var stored = try Config.fromMeta(meta, file: directory.url.appendingPathComponent(ResultsSchema.meta).path).config
        // What a run should do (delete, resume, train…) comes from this command, never from the
        // stored config: flyvis stores delete_if_exists=true, which must not wipe a resume.
        for flag in RunFlag.allCases { stored.remove(flag.key) }
        return try Build.loadConfig(stored: stored, overrides: overrides, configDirs: configDirs)
    }

    /// The top-level keys `_meta.yaml` stores: flyvis's (`metaKeys`) and every key the
    /// defaults lack (`+foo=1`), so an added key is kept with the run and compared on resume.
    static func storedKeys(_ config: Config) -> [String] {
        let defaults = Self.defaultTopLevelKeys
        return metaKeys + config.root.keys.filter { !defaults.contains($0) && !metaKeys.contains($0) && $0 != "type" }
    }

    static let defaultTopLevelKeys: Set<String> = Set((try? Config.load())?.root.keys ?? [])

    /// Opens (or creates) the network directory `<root>/results/<network_name>` and builds
    /// everything. With `resume`, an existing directory continues from its last good
    /// checkpoint; without it, an existing directory with checkpoints is refused.
    /// `stopRequested` ends the preparation of the data set (rendering, or waiting for another
    /// process's rendering) with `SolverError.stopRequested`.
    package init(
        config: Config, root: URL, resume: Bool, log: TrainingLog = TrainingLog(), threads: Int = 1,
        stopRequested: @escaping () -> Bool = { false }
    ) throws {
        self.config = config
        self.log = log
        // Validated, inside <root>/results, locked for this run (MemberDirectory.swift).
        let opened = try MemberDirectory.open(config: config, root: root, resume: resume, log: log)
        directory = opened.directory
        memberLock = opened.lock
        let fm = FileManager.default
        let store = CheckpointStore(networkDirectory: directory)
        let existing = store.indices()
        if !existing.isEmpty && !resume {
            throw SolverError.directoryExists(path: directory.path, checkpoints: existing.count)
        }
        if resume, let meta = try directory.readMeta() {
            // Keys the stored config lacks (flyvis has no seed, no built-in data set) count as
            // their defaults.
            let filled = try Config.load(
                stored: try Config.fromMeta(meta, file: directory.url.appendingPathComponent(ResultsSchema.meta).path).config)
            let keys = Self.storedKeys(filled) + Self.storedKeys(config).filter { !Self.storedKeys(filled).contains($0) }
            func metaPart(_ c: Config) -> Config {
                Config(
                    root: {
                        var m = ConfigMap(); for k in keys { if let v = c.root[k] { m[k] = v } }; return m
                    }())
            }
            let (stored, current) = (metaPart(filled), metaPart(config))
            let diffs = stored.diff(current, ignoring: Self.resumeInvariantKeys)
            if !diffs.isEmpty { throw SolverError.incompatibleConfig(path: directory.path, differences: diffs) }
        }
        try fm.createDirectory(at: directory.url, withIntermediateDirectories: true)
        log.addFile(directory.url.appendingPathComponent(ResultsSchema.trainLog))
        log.info("Network directory \(directory.path)")
        try directory.writeMeta(config.metaYAML(status: "done", keys: Self.storedKeys(config)))

        // Network.
        let connectome = try Build.connectome(config)
        let parameters = try NetworkParameters(connectome: connectome, config: try Build.networkParameters(config))
        initialParameters = parameters
        network = try Network(connectome: connectome, parameters: parameters, activation: try Build.activation(config))
        network.threads = threads
        log.info(
            "Initialized network with \(connectome.nodeCount) nodes, \(connectome.edgeCount) edges, \(parameters.bias.count + parameters.timeConst.count + parameters.synStrength.count) trainable parameters."
        )

        // Data.
        let seed = try config.int("seed")
        dataRNG = RandomState(seed: UInt64(bitPattern: Int64(seed)) ^ SeedSalt.data)
        do {
            task = try Build.task(config, root: root, connectome: connectome, seed: seed, threads: threads, log: log, stop: stopRequested)
        } catch DataError.stopRequested {
            throw SolverError.stopRequested
        }
        dt = task.dataset.config.dt

        // Optimizer, penalties, scheduler.
        step = TrainingStep(
            network: network, decoders: task.decoders, objectives: task.objectives, weights: task.weights,
            learningRates: (try config.double("optim.optim_net.lr"), try config.double("optim.optim_dec.lr")),
            penalizer: try Build.penalizer(config, parameters: parameters))
        scheduler = try Build.scheduler(config)
        nIters = try config.int("task.n_iters")
        chkptEveryEpoch = try config.int("scheduler.chkpt_every_epoch")
        tPreTrain = try config.double("t_pre_train")
        applySchedule(at: 0)

        if resume && !existing.isEmpty { try recover(.last) }
    }

    // MARK: Scheduling

    /// Sets every scheduled hyper-parameter for `iteration`.
    /// Appends one iteration to the per-iteration histories (written at each checkpoint).
    func record(_ r: StepResult) {
        func append(_ key: String, _ v: Double) { histories[key, default: []].append(v) }
        append(ResultsSchema.loss, r.loss)
        for t in task.names { append(ResultsSchema.taskLoss(t), r.taskLosses[t] ?? .nan) }
        append(ResultsSchema.activity, r.activityMean)
        append(ResultsSchema.activityMin, r.activityMin)
        append(ResultsSchema.activityMax, r.activityMax)
    }

    func applySchedule(at iteration: Int) {
        for (target, value) in scheduler.values(at: iteration) {
            switch target {
            case .lr_net: step.adam.learningRates[0] = value
            case .lr_dec: step.adam.learningRates[1] = value
            case .lr_pen: step.penalizer.learningRate = value
            case .dt: dt = value; task.dataset.config.dt = value
            case .relu_leak:
                if case .leakyRelu = network.activation { network.activation = .leakyRelu(slope: value) }
            case .activity_penalty: step.penalizer.activity?.weight = value
            }
        }
    }

    // MARK: Training

    /// Trains until task.n_iters (flyvis `train`), or until a stop is requested (then after
    /// finishing the epoch and checkpointing).
    @discardableResult
    package func train(overfit: Bool = false, hooks: TrainingHooks = TrainingHooks()) throws -> TrainingOutcome {
        guard iteration < nIters else {
            log.info("Already trained \(iteration) of \(nIters) iterations.")
            return .finished
        }
        var times = TrainingTimes()
        let trainStart = DispatchTime.now().uptimeNanoseconds, firstIteration = iteration
        if checkpointIndex < 0 {
            try checkpoint(hooks: hooks)
            times.checkpoints += seconds(since: trainStart)
        }
        let loader = overfit ? task.overfitLoader : task.trainLoader
        let augment = !overfit && task.dataset.config.augment
        let nEpochs = Int((Double(nIters - iteration) / Double(loader.count)).rounded(.up))
        // Training runs in whole epochs (as flyvis's), so it ends at or after task.n_iters.
        let end = iteration + nEpochs * loader.count
        let wholeEpochs = end == nIters ? "" : " (task.n_iters=\(nIters) rounded up to whole epochs)"
        log.info(
            "Starting training: \(nEpochs) epochs of \(loader.count) iterations from iteration \(iteration) to \(end)\(wholeEpochs); checkpoint every \(chkptEveryEpoch) epochs."
        )
        let start = Date()
        var lastCheckpointTime = Date(), lastCheckpointIteration = iteration
        var lastProgress = Date(), lastProgressIteration = iteration
        defer { timeTrained += Date().timeIntervalSince(start); try? directory.writeScalar(ResultsSchema.timeTrained, timeTrained) }
        let prefetcher = BatchPrefetcher()
        defer { prefetcher.drain() }
        for epoch in 0..<nEpochs {
            var t0 = DispatchTime.now().uptimeNanoseconds
            let steady = try network.steadyState(tPre: tPreTrain, dt: dt, batch: loader.batchSize)
            times.steadyState += seconds(since: t0)
            let batches = loader.epoch(&dataRNG)
            for (k, indices) in batches.enumerated() {
                // Batch k was started during iteration k − 1 (the first of an epoch, now).
                t0 = DispatchTime.now().uptimeNanoseconds
                if k == 0 { prefetcher.start(task.dataset, indices, augment: augment, rng: dataRNG) }
                let prepared = prefetcher.take()
                (dataRNG, times.dataPrepared) = (prepared.rng, times.dataPrepared + prepared.seconds)
                if k + 1 < batches.count {
                    prefetcher.start(task.dataset, batches[k + 1], augment: augment, rng: dataRNG)
                }
                times.dataWait += seconds(since: t0)
                t0 = DispatchTime.now().uptimeNanoseconds
                let batch = prepared.batch
                var targets = batch.targets
                for t in task.names where targets[t] == nil { targets[t] = [] }
                let r = try step.run(
                    iteration: iteration, lum: batch.lum, targets: targets, batch: batch.batchSize,
                    frames: batch.frames, dt: dt, steadyState: steady)
                guard r.loss.isFinite, r.activityMean.isFinite else {
                    log.error("Network exploded at iteration \(iteration).")
                    throw SolverError.overflow(iteration: iteration, what: r.loss.isFinite ? "activity" : "loss")
                }
                times.steps += seconds(since: t0)
                record(r)
                iteration += 1
                hooks.afterIteration()
                // A full-size checkpoint interval is tens of minutes: say how it goes meanwhile.
                let sinceProgress = Date().timeIntervalSince(lastProgress)
                if sinceProgress >= progressInterval {
                    let rate = Double(iteration - lastProgressIteration) / max(sinceProgress, 1e-9)
                    log.info(
                        String(
                            format: "Iteration %d/%d%@, loss %.5f, %.2f it/s, ETA %.0f s", iteration, end,
                            wholeEpochs as NSString, r.loss, rate, Double(max(end - iteration, 0)) / max(rate, 1e-9)))
                    (lastProgress, lastProgressIteration) = (Date(), iteration)
                    hooks.progress(iteration, rate)
                }
            }
            let epochIndex = epochsDone
            epochsDone += 1
            let last = epoch + 1 == nEpochs
            if !last {
                applySchedule(at: iteration)
            }
            let stop = hooks.stopRequested()
            if epochIndex % chkptEveryEpoch == 0 || last || stop {
                let elapsed = Date().timeIntervalSince(lastCheckpointTime)
                let rate = elapsed > 0 ? Double(iteration - lastCheckpointIteration) / elapsed : 0
                let c0 = DispatchTime.now().uptimeNanoseconds
                try checkpoint(hooks: hooks, rate: rate)
                times.checkpoints += seconds(since: c0)
                lastCheckpointTime = Date()
                lastCheckpointIteration = iteration
                let remaining = Double(end - iteration) / max(rate, 1e-9)
                log.info(
                    String(
                        format: "Iteration %d/%d%@, loss %.5f, %.2f it/s, ETA %.0f s", iteration, end,
                        wholeEpochs as NSString, histories[ResultsSchema.loss]?.last ?? .nan, rate, max(remaining, 0)))
            }
            if stop && !last {
                log.warning("Stop requested: checkpointed at iteration \(iteration); resume to continue.")
                return .interrupted
            }
        }
        log.info("Finished training: " + times.summary(iterations: iteration - firstIteration, wall: seconds(since: trainStart)))
        return .finished
    }

    // MARK: Checkpoints and validation

    /// Validates on the four loaders, writes the checkpoint file and the bookkeeping arrays.
    func writeCheckpoint(hooks: TrainingHooks, rate: Double) throws {
        checkpointIndex += 1
        applySchedule(at: iteration)
        var valLoss = Double.nan
        var steadyStates: [Int: [Float]?] = [:]
        for split in ResultsSchema.Split.allCases {
            let losses = try test(task.loader(split), tPre: Self.testWarmUp, steadyStates: &steadyStates)
            let total = task.mean(losses)
            let d = directory.split(split)
            try d.extend(ResultsSchema.loss, [total])
            for t in task.names { try d.extend(ResultsSchema.taskLoss(t), [losses[t]!]) }
            try d.extend(ResultsSchema.splitIteration, [Int64(iteration)])
            if split == .validation { valLoss = total }
        }
        // Full per-iteration histories (flyvis rewrites only the current run's part).
        for (key, values) in histories { try directory.write(key, values) }
        try CheckpointStore(networkDirectory: directory).write(checkpointState(valLoss: valLoss), index: checkpointIndex)
        try directory.extend(ResultsSchema.chkptIndex, [Int64(checkpointIndex)])
        try directory.extend(ResultsSchema.chkptIter, [Int64(iteration - 1)])
        try directory.writeScalar(ResultsSchema.dt, dt)
        try directory.writeScalar(ResultsSchema.timeTrained, timeTrained)
        if valLoss < bestValLoss {
            bestValLoss = valLoss
            bestCheckpoint = checkpointIndex
            try directory.writeScalar(ResultsSchema.bestChkptIndex, Int64(checkpointIndex))
        }
        log.info(
            String(
                format: "Checkpoint %d at iteration %d: validation loss %.6f (best %.6f at checkpoint %d)",
                checkpointIndex, iteration, valLoss, bestValLoss, bestCheckpoint))
        hooks.afterCheckpoint(checkpointIndex, iteration, valLoss, bestValLoss, rate)
    }

    /// The grey warm-up before each evaluation batch, as flyvis's `test` has it.
    static let testWarmUp = 0.25

    /// Mean loss per task over a loader: eval mode, no augmentation, grey warm-up of 0.25 s.
    package func test(_ loader: Loader, tPre: Double = testWarmUp, objective: Objective? = nil) throws -> [String: Double] {
        var steadyStates: [Int: [Float]?] = [:]
        return try test(loader, tPre: tPre, objective: objective, steadyStates: &steadyStates)
    }

    /// `test` with the grey steady states kept per batch size in `steadyStates`: a steady
    /// state depends only on the parameters and the batch size, so while the parameters stay
    /// the same (one checkpoint's four splits) it is computed once, not once per batch.
    ///
    /// Consecutive batches run together, up to `mergedSamples` samples, and each batch's losses
    /// come from its slice (`TrainingStep.evaluate(batches:)`): the same losses bit for bit,
    /// averaged over the same batches, in a fraction of the runs (the validation split runs at
    /// batch 1).
    func test(
        _ loader: Loader, tPre: Double, objective: Objective? = nil,
        steadyStates: inout [Int: [Float]?]
    ) throws -> [String: Double] {
        var sums: [String: Double] = [:]
        var n = 0
        var rng = RandomState(seed: 0)  // unused: no augmentation draws in eval
        let batches = Array(loader.epoch(&rng))
        let limit = max(loader.batchSize, mergedSamples)
        var next = 0
        while next < batches.count {
            var group = [batches[next]]
            next += 1
            while next < batches.count && group.reduce(0, { $0 + $1.count }) + batches[next].count <= limit {
                group.append(batches[next])
                next += 1
            }
            let b = task.dataset.batch(group.flatMap { $0 }, augment: false, rng: &rng)
            let steady: [Float]?
            if let cached = steadyStates[b.batchSize] {
                steady = cached
            } else {
                steady = try network.steadyState(tPre: tPre, dt: dt, batch: b.batchSize)
                steadyStates[b.batchSize] = steady
            }
            let losses = try step.evaluate(
                lum: b.lum, targets: b.targets, batches: group.map(\.count), frames: b.frames, dt: dt,
                steadyState: steady, objective: objective)
            for batchLosses in losses {
                for (k, v) in batchLosses { sums[k, default: 0] += v }
                n += 1
            }
        }
        return sums.mapValues { $0 / Double(max(n, 1)) }
    }

    /// The most samples one evaluation run holds: twice the training batch, so that its
    /// buffers stay within twice the training iteration's.
    var mergedSamples: Int { 2 * task.batchSize }

    /// The solver's state as a flyvis checkpoint (plus our resume state).
    func checkpointState(valLoss: Double) -> Checkpoint {
        var c = Checkpoint()
        let p = network.parameters
        for name in ParameterName.allCases { c.network[name.rawValue] = .float(p[name], shape: [p[name].count]) }
        var dropout: [String: [UInt64]] = [:]
        for task in self.task.names {
            let d = step.decoders[task]!
            var sd = StateDict()
            for name in d.stateNames {
                let s = d.state(name)!
                sd[name] =
                    name.hasSuffix("num_batches_tracked") ? .int64([Int64(s.values[0])], shape: []) : .float(s.values, shape: s.shape)
            }
            c.decoder[task] = sd
            dropout[task] = d.dropoutRNG.state
        }
        // torch's parameter ids run across the groups: network 0..<5, then the decoders'.
        var groups: [OptimizerState.Group] = []
        var state: [Int: OptimizerState.AdamEntry] = [:]
        var id = 0
        for (g, names) in step.adam.groups.enumerated() {
            groups.append(
                OptimizerState.Group(
                    lr: step.adam.learningRates[g], params: Array(id..<id + names.count),
                    betas: [step.adam.beta1, step.adam.beta2], eps: step.adam.eps))
            for name in names {
                if let m = step.adam.state[name] {
                    let shape = parameterShape(name)
                    let (expAvg, expAvgSq) = adamArraysTorchLayout(name, m)
                    state[id] = OptimizerState.AdamEntry(
                        step: Double(m.step), expAvg: .float(expAvg, shape: shape),
                        expAvgSq: .float(expAvgSq, shape: shape))
                }
                id += 1
            }
        }
        c.optim = OptimizerState(kind: .adam, groups: groups, state: state)
        c.activityOptim = OptimizerState(
            kind: .sgd, groups: [OptimizerState.Group(lr: step.penalizer.activityOptimizer.learningRate, params: [0])])
        c.resume = ResumeState(dataRNG: dataRNG.state, dropoutRNG: dropout, epochsDone: epochsDone, timeTrained: timeTrained)
        c.iteration = iteration - 1
        c.valLoss = valLoss
        c.dt = dt
        c.time = Self.ctime(Date())
        return c
    }

    /// A trainable parameter's shape in torch's layout (decoder weights are 4-d there).
    func parameterShape(_ parameter: TrainedParameter) -> [Int] {
        switch parameter {
        case let .network(name): return [network.parameters[name].count]
        case let .decoder(task, name): return step.decoders[task]!.state(name)!.shape
        }
    }

    func adamArraysTorchLayout(_ parameter: TrainedParameter, _ m: AdamMoments) -> ([Float], [Float]) {
        guard case let .decoder(task, name) = parameter else { return (m.expAvg, m.expAvgSq) }
        let d = step.decoders[task]!
        return (d.torchLayout(name, m.expAvg), d.torchLayout(name, m.expAvgSq))
    }

    static func ctime(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "EEE MMM d HH:mm:ss yyyy"
        return f.string(from: date)
    }

    // MARK: Recovery

    /// Restores network, decoders, optimizer and generators from a checkpoint (ours or
    /// flyvis's), and rolls every history back to it, so training continues exactly.
    package func recover(
        _ choice: CheckpointSelector, network restoreNetwork: Bool = true, decoder restoreDecoder: Bool = true,
        optimizer restoreOptimizer: Bool = true, rollBack: Bool = true
    ) throws {
        let store = CheckpointStore(networkDirectory: directory)
        let index: Int, c: Checkpoint
        if choice == .last {
            let r = try store.latestValid()
            for problem in r.skipped { log.warning("\(problem); using an earlier checkpoint") }
            (index, c) = (r.index, r.checkpoint)
        } else {
            index = try choice.resolve(in: directory)
            c = try store.read(index: index)
        }
        let source = store.path(index: index).path
        try restoreWeights(from: c, source: source, network: restoreNetwork, decoder: restoreDecoder)
        if restoreOptimizer { try restoreOptimizerState(from: c, source: source) }
        iteration = c.iteration + 1
        if let r = c.resume {
            dataRNG = RandomState(state: r.dataRNG)
            for (task, s) in r.dropoutRNG { step.decoders[task]?.dropoutRNG = RandomState(state: s) }
            epochsDone = r.epochsDone
            timeTrained = r.timeTrained
        } else {
            // A flyvis checkpoint: no generator states (flyvis's are global and unsaved), so
            // training continues with this member's fresh generators.
            epochsDone = iteration / max(task.trainLoader.count, 1)
            timeTrained = (try? directory.read(ResultsSchema.timeTrained, as: Double.self).values.first) ?? 0
            if restoreOptimizer {
                log.info("Checkpoint \(index) was written by flyvis: continuing with fresh data and dropout generators.")
            }
        }
        checkpointIndex = index
        applySchedule(at: iteration)
        // Roll the bookkeeping back to this checkpoint (entries after it belong to the lost run).
        guard rollBack else { return }
        try truncateHistories(toCheckpoint: index, iteration: iteration)
        log.info(
            "Recovered checkpoint \(index) (iteration \(iteration), best validation loss \(bestValLoss) at checkpoint \(bestCheckpoint)).")
    }

    /// Loads the network parameters and (where present) the decoders' state dicts of a
    /// checkpoint. A shape that does not fit this solver's config is refused, naming both.
    package func restoreWeights(
        from c: Checkpoint, source: String, network restoreNetwork: Bool = true,
        decoder restoreDecoder: Bool = true, decoderOptional: Bool = false
    ) throws {
        if restoreNetwork {
            var p = network.parameters
            try p.load(c, source: source)
            network.setParameters(p)
        }
        guard restoreDecoder else { return }
        for task in self.task.names {
            let d = step.decoders[task]!
            // Check the whole state dict first, so a decoder is loaded entirely or not at all.
            var problem: Error?
            if let sd = c.decoder[task] {
                for name in d.stateNames where problem == nil {
                    let expected = d.state(name)!.shape
                    if let a = sd[name] {
                        if !(a.shape == expected || (a.count == 1 && expected.reduce(1, *) == 1)) {
                            problem = SolverError.shapeMismatch(
                                source: source, key: "decoder/\(task)/\(name)", stored: a.shape, expected: expected)
                        }
                    } else {
                        problem = ResultsError.corruptCheckpoint(path: source, reason: "no decoder/\(task)/\(name)")
                    }
                }
            } else {
                problem = ResultsError.corruptCheckpoint(path: source, reason: "no decoder/\(task)")
            }
            if let problem {
                guard decoderOptional else { throw problem }
                log.warning("the \(task) decoder keeps its initial weights: \(problem)")
                continue
            }
            for name in d.stateNames { try d.setState(name, c.decoder[task]![name]!.asFloats) }
        }
    }

    /// Starts a new run from another model's weights (ours or flyvis's): its network and, where
    /// the shapes fit, its decoders; optimizer and histories start fresh. The weights then go
    /// into this run's first checkpoint.
    package func initialize(from source: ResultsDirectory, checkpoint: CheckpointSelector) throws {
        let index = try checkpoint.resolve(in: source)
        let path = CheckpointStore(networkDirectory: source).path(index: index).path
        try restoreWeights(from: try CheckpointStore.read(path), source: path, decoderOptional: true)
        log.info("Initialized from \(path) (\(checkpoint)): network parameters and matching decoder weights.")
    }

    /// Adam's moments and step counts by torch parameter id (decoder moments converted from
    /// torch's layout); parameters without state (untrained ones) start fresh, as in torch.
    func restoreOptimizerState(from c: Checkpoint, source: String) throws {
        step.adam.resetState()
        guard let o = c.optim else { return }
        let names = Array(step.adam.groups.joined())
        for (id, e) in o.state {
            guard id < names.count else {
                throw SolverError.shapeMismatch(source: source, key: "optim/state/\(id)", stored: [id], expected: [names.count])
            }
            let name = names[id]
            let expected = parameterShape(name)
            guard e.expAvg.shape == expected, e.expAvgSq.shape == expected else {
                throw SolverError.shapeMismatch(
                    source: source, key: "optim/state/\(id) (\(name))", stored: e.expAvg.shape, expected: expected)
            }
            var m = e.expAvg.asFloats, v = e.expAvgSq.asFloats
            if case let .decoder(task, parameter) = name {
                let d = step.decoders[task]!
                m = d.storageLayout(parameter, m)
                v = d.storageLayout(parameter, v)
            }
            step.adam.setState(name, AdamMoments(step: Int(e.step.rounded()), expAvg: m, expAvgSq: v))
        }
    }

    func truncateHistories(toCheckpoint index: Int, iteration: Int) throws {
        let keep = index + 1
        for split in ResultsSchema.Split.allCases {
            let d = directory.split(split)
            try d.truncate(ResultsSchema.loss, to: keep, as: Double.self)
            for t in task.names { try d.truncate(ResultsSchema.taskLoss(t), to: keep, as: Double.self) }
            try d.truncate(ResultsSchema.splitIteration, to: keep, as: Int64.self)
        }
        // val-single's scores of checkpoints after this one describe files that training will
        // now write again: drop them, so they are validated anew.
        for key in [ResultsSchema.l2norm, ResultsSchema.epe] {
            try directory.split(.validation).truncate(key, to: keep, as: Double.self)
        }
        try directory.truncate(ResultsSchema.chkptIndex, to: keep, as: Int64.self)
        try directory.truncate(ResultsSchema.chkptIter, to: keep, as: Int64.self)
        try repairHistories(checkpoints: keep)
        histories = [:]
        for key in Self.historyKeys + task.names.map(ResultsSchema.taskLoss) where directory.contains(key) {
            histories[key] = Array(try directory.read(key, as: Double.self).values.prefix(iteration))
            try directory.write(key, histories[key]!)
        }
        // The in-training best (best_chkpt_index, as flyvis's solver keeps it): the lowest kept
        // validation/loss, by the one rule; an infinite loss is no best.
        let best = (try? BestCheckpoint.find(in: directory, metric: .loss)).flatMap { $0.value.isFinite ? $0 : nil }
        bestValLoss = best?.value ?? .infinity
        bestCheckpoint = best?.index ?? -1
        if bestCheckpoint >= 0 { try directory.writeScalar(ResultsSchema.bestChkptIndex, Int64(bestCheckpoint)) }
        try directory.writeScalar(ResultsSchema.timeTrained, timeTrained)
    }

    /// Checks the per-checkpoint histories against checkpoints 0..<n after a roll-back:
    /// `chkpt_index` must be 0..<n and every per-checkpoint file must hold n entries (a deleted or
    /// damaged file would otherwise be rebuilt from the new entries alone, and every later
    /// argmin be off). What the checkpoints record themselves (iteration, validation loss) is
    /// rebuilt from them; the other subdirectories' losses are padded with NaN. Each repair is
    /// logged.
    func repairHistories(checkpoints n: Int) throws {
        let store = CheckpointStore(networkDirectory: directory)
        var cache: [Int: Checkpoint?] = [:]
        func stored(_ i: Int) -> Checkpoint? {
            if let c = cache[i] { return c }
            let c = try? store.read(index: i)
            cache[i] = c
            return c
        }
        func repair<T: HDF5Element & Equatable>(_ d: ResultsDirectory, _ key: String, _ expected: () -> [T], exact: Bool) throws {
            let have = (try? d.read(key, as: T.self).values) ?? []
            guard exact ? have != expected() : have.count != n else { return }
            var fixed = expected()
            if !exact { fixed = Array(have.prefix(n)) + fixed.dropFirst(min(have.count, n)) }
            log.warning(
                "\(d.file(key).path) had \(have.count) entries for \(n) checkpoints; repaired\(exact ? " from the checkpoints" : "")")
            try d.write(key, fixed)
        }
        try repair(directory, ResultsSchema.chkptIndex, { (0..<Int64(n)).map { $0 } }, exact: true)
        try repair(directory, ResultsSchema.chkptIter, { (0..<n).map { Int64(stored($0)?.iteration ?? -1) } }, exact: false)
        for split in ResultsSchema.Split.allCases {
            let d = directory.split(split)
            let fromCheckpoint = split == .validation
            try repair(d, ResultsSchema.loss, { (0..<n).map { fromCheckpoint ? stored($0)?.valLoss ?? .nan : .nan } }, exact: false)
            for t in task.names { try repair(d, ResultsSchema.taskLoss(t), { [Double](repeating: .nan, count: n) }, exact: false) }
            try repair(d, ResultsSchema.splitIteration, { (0..<n).map { Int64((stored($0)?.iteration ?? -2) + 1) } }, exact: false)
        }
    }

    /// After training: validates every checkpoint (flyvis's separate `val_single` step), so that
    /// `EnsembleView(...).task_error()` finds `validation/epe`. Checkpoints already validated
    /// (the leading entries of `validation/l2norm` and `epe`; a roll-back drops those of
    /// rebuilt checkpoints) are kept, so a run stopped here continues where it stopped.
    /// Returns false when `stopRequested` stopped it (what was validated is written).
    @discardableResult
    package func validateIfNeeded(stopRequested: () -> Bool = { false }) throws -> Bool {
        let n = CheckpointStore(networkDirectory: directory).indices().count
        let v = directory.split(.validation)
        let l2 = (try? v.read(ResultsSchema.l2norm, as: Double.self).values) ?? []
        let epe = (try? v.read(ResultsSchema.epe, as: Double.self).values) ?? []
        let done = l2.count == epe.count && l2.count <= n ? l2.count : 0
        if done == n { return true }
        log.info(
            done == 0
                ? "Validating \(n) checkpoints with l2norm and epe (validation/l2norm.h5, epe.h5)."
                : "Validating checkpoints \(done)…\(n - 1) with l2norm and epe (0…\(done - 1) were validated before).")
        return try validateCheckpoints(from: done, l2norm: l2, epe: epe, stopRequested: stopRequested).complete
    }

    /// Validates every checkpoint with l2norm and epe (flyvis `val-single`), in eval mode from
    /// v = bias (t_pre 0, as flyvis's validation), and writes validation/l2norm and epe.
    package func validateAllCheckpoints(stopRequested: () -> Bool = { false }) throws -> (l2norm: [Double], epe: [Double]) {
        let r = try validateCheckpoints(from: 0, l2norm: [], epe: [], stopRequested: stopRequested)
        return (r.l2norm, r.epe)
    }

    /// Validates checkpoints from position `start` of the store's indices on, after the given
    /// leading values, and writes both arrays; a stop request ends it between checkpoints
    /// (complete false), with the values so far written.
    func validateCheckpoints(
        from start: Int, l2norm: [Double], epe: [Double], stopRequested: () -> Bool
    ) throws
        -> (l2norm: [Double], epe: [Double], complete: Bool)
    {
        let store = CheckpointStore(networkDirectory: directory)
        var l2 = Array(l2norm.prefix(start)), epe = Array(epe.prefix(start))
        var skipped: [Int] = []
        var complete = true
        for index in store.indices().dropFirst(start) {
            if stopRequested() {
                log.warning("Stop requested: validated \(l2.count) checkpoint(s); rerun to validate the rest.")
                complete = false
                break
            }
            do {
                try recover(.index(index), optimizer: false, rollBack: false)
            } catch let error as ResultsError {
                // A damaged checkpoint gets NaN, so the arrays stay aligned with chkpt_index.
                log.warning("\(error)")
                skipped.append(index)
                l2.append(.nan)
                epe.append(.nan)
                continue
            }
            l2.append(task.mean(try test(task.valData, tPre: 0, objective: .l2norm)))
            epe.append(task.mean(try test(task.valData, tPre: 0, objective: .epe)))
            log.info(String(format: "Checkpoint %d: l2norm %.6f, epe %.6f", index, l2.last!, epe.last!))
        }
        try directory.split(.validation).write(ResultsSchema.l2norm, l2)
        try directory.split(.validation).write(ResultsSchema.epe, epe)
        if !skipped.isEmpty {
            log.warning(
                "Skipped damaged checkpoint(s) \(skipped.map(String.init).joined(separator: ", ")) (NaN in validation/l2norm.h5 and epe.h5)."
            )
        }
        return (l2, epe, complete)
    }
}
