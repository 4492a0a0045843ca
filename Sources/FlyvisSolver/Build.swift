import FlyvisBase
import FlyvisConfig
import FlyvisConnectome
import FlyvisData
import FlyvisHex
import FlyvisNetwork
import FlyvisTask
import FlyvisTraining
import Foundation

/// Builds the pieces of a training run from a resolved config, with errors that name the key.
package enum Build {
    package static func connectome(_ c: Config) throws -> Connectome {
        let file = try c.string("network.connectome.file")
        let url = file == "fib25-fib19_v2.2.json" ? Connectome.bundledFile : URL(fileURLWithPath: file)
        return try Connectome(
            file: url, extent: try c.int("network.connectome.extent"),
            nSynFill: Float(try c.double("network.connectome.n_syn_fill")))
    }

    static func parameterConfig(_ c: Config, key: String, defaults: ParameterConfig) throws -> ParameterConfig {
        var p = defaults
        let base = "network.\(key)"
        if c.contains("\(base).requires_grad") { p.requiresGrad = try c.bool("\(base).requires_grad") }
        if c.contains("\(base).groupby") {
            p.groupby = try c.list("\(base).groupby").map { v -> String in
                guard case let .string(s) = v else {
                    throw ConfigError.wrongType(key: "\(base).groupby", expected: "a list of column names", found: "\(v)")
                }
                return s
            }
        }
        if let clamp = try c.optionalString("\(base).clamp") {
            guard clamp == "non_negative" else {
                throw ConfigError.outOfRange(key: "\(base).clamp", value: clamp, allowed: "non_negative, [low, high] or null")
            }
            p.clamp = .nonNegative
        } else if case let .list(l)? = c.value("\(base).clamp"), l.count == 2 {
            let lo = try Config(
                root: {
                    var m = ConfigMap(); m["x"] = l[0]; return m
                }()
            ).double("x")
            let hi = try Config(
                root: {
                    var m = ConfigMap(); m["x"] = l[1]; return m
                }()
            ).double("x")
            p.clamp = .range(lo, hi)
        } else if c.contains("\(base).clamp") {
            p.clamp = .none
        }
        if let scale = try c.optionalDouble("\(base).scale") { p.scale = scale }
        let dist = try c.optionalString("\(base).initial_dist") ?? "Value"
        switch dist {
        case "Value":
            if c.contains("\(base).value") {
                p.initial = .value(try c.double("\(base).value"))
            } else if case .value = p.initial {
            } else {
                p.initial = .value(0)
            }
        case "Normal":
            p.initial = .normal(
                mean: try c.double("\(base).mean"), std: try c.double("\(base).std"),
                seed: try c.optionalInt("\(base).seed") ?? 0)
        case "Lognormal":
            p.initial = .lognormalMean
        default:
            throw ConfigError.outOfRange(key: "\(base).initial_dist", value: dist, allowed: "Value, Normal, Lognormal")
        }
        return p
    }

    static func networkParameters(_ c: Config) throws -> NetworkParameterConfig {
        var p = NetworkParameterConfig()
        p.bias = try parameterConfig(c, key: "node_config.bias", defaults: p.bias)
        p.timeConst = try parameterConfig(c, key: "node_config.time_const", defaults: p.timeConst)
        p.sign = try parameterConfig(c, key: "edge_config.sign", defaults: p.sign)
        p.synCount = try parameterConfig(c, key: "edge_config.syn_count", defaults: p.synCount)
        p.synStrength = try parameterConfig(c, key: "edge_config.syn_strength", defaults: p.synStrength)
        return p
    }

    /// The config with our defaults (`Config.load`), its choices checked against the enums
    /// that implement them: every config the solver, the ensemble and `simulate` use comes
    /// through here, before any directory is created.
    package static func loadConfig(stored: Config? = nil, overrides: [String], configDirs: [URL] = []) throws -> Config {
        let config =
            try stored.map { try Config.load(stored: $0, overrides: overrides, configDirs: configDirs) }
            ?? Config.load(overrides: overrides, configDirs: configDirs)
        try checkChoices(config)
        return config
    }

    /// Names that select an implementation (activation, losses, schedules), parsed by their
    /// enums so that the allowed values in an error are exactly what exists.
    static func checkChoices(_ c: Config) throws {
        if c.contains("network.dynamics.activation.type") { _ = try activation(c) }
        if let losses = c.value("task.loss")?.mapValue {
            for k in losses.keys { _ = try Objective.named(try c.string("task.loss.\(k)"), key: "task.loss.\(k)") }
        }
        if let sched = c.value("scheduler")?.mapValue {
            for k in sched.keys where !["chkpt_every_epoch", "sched_stop_iter"].contains(k) {
                _ = try HyperParameterScheduler.target(named: k)
                _ = try ScheduleFunction.named(try c.string("scheduler.\(k).function"), key: "scheduler.\(k).function")
            }
        }
    }

    static func activation(_ c: Config) throws -> Activation {
        let key = "network.dynamics.activation"
        let type = try c.string("\(key).type")
        guard let name = Activation.Name(rawValue: type) else {
            throw ConfigError.outOfRange(
                key: "\(key).type", value: type,
                allowed: Activation.Name.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return Activation(
            name, negativeSlope: try c.optionalDouble("\(key).negative_slope"), alpha: try c.optionalDouble("\(key).alpha"),
            beta: try c.optionalDouble("\(key).beta"), threshold: try c.optionalDouble("\(key).threshold"))
    }

    static func datasetConfig(_ c: Config) throws -> DatasetConfig {
        var d = DatasetConfig()
        let k = "task.dataset"
        d.tasks = try c.list("\(k).tasks").map { v -> String in
            guard case let .string(s) = v else {
                throw ConfigError.wrongType(key: "\(k).tasks", expected: "a list of task names", found: "\(v)")
            }
            return s
        }
        d.nFrames = try c.int("\(k).n_frames")
        d.dt = try c.double("\(k).dt")
        d.augment = try c.bool("\(k).augment")
        d.randomTemporalCrop = try c.bool("\(k).random_temporal_crop")
        d.allFrames = try c.bool("\(k).all_frames")
        d.resampling = try c.bool("\(k).resampling")
        d.interpolate = try c.bool("\(k).interpolate")
        d.pFlip = try c.double("\(k).p_flip")
        d.pRot = try c.double("\(k).p_rot")
        d.flipAxes = try c.list("\(k).flip_axes").map { v -> Int in
            guard case let .int(i) = v else {
                throw ConfigError.wrongType(key: "\(k).flip_axes", expected: "a list of integers", found: "\(v)")
            }
            return i
        }
        d.contrastStd = try c.optionalDouble("\(k).contrast_std")
        d.brightnessStd = try c.optionalDouble("\(k).brightness_std")
        d.gaussianWhiteNoise = try c.optionalDouble("\(k).gaussian_white_noise")
        d.gammaStd = try c.optionalDouble("\(k).gamma_std")
        return d
    }

    static func renderConfig(_ c: Config) throws -> RenderConfig {
        var r = RenderConfig()
        r.extent = try c.int("task.dataset.boxfilter.extent")
        r.kernelSize = try c.int("task.dataset.boxfilter.kernel_size")
        r.verticalSplits = try c.int("task.dataset.vertical_splits")
        r.nFrames = try c.int("task.dataset.n_frames")
        r.centerCropFraction = try c.optionalDouble("task.dataset.center_crop_fraction")
        r.depth = try c.list("task.dataset.tasks").contains(.string(TaskName.depth.rawValue))
        let extent = try c.int("network.connectome.extent")
        guard r.extent == extent else {
            throw ConfigError.outOfRange(
                key: "task.dataset.boxfilter.extent", value: "\(r.extent)",
                allowed: "the connectome's extent (\(extent)); set both together")
        }
        return r
    }

    /// The rendered sequences: a local Sintel copy if `task.dataset.sintel_path` is set, else
    /// the built-in synthetic set; cached under `<root>/renderings`.
    static func sequences(
        _ c: Config, root: URL, log: (String) -> Void,
        stop: @escaping () -> Bool = { false }
    ) throws -> [RenderedSequence] {
        let render = try renderConfig(c)
        let hexals = HexLattice.count(extent: render.extent)
        if let path = try c.optionalString("task.dataset.sintel_path") {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
                throw DataError.missingFolder(
                    path: path,
                    hint:
                        "task.dataset.sintel_path names no folder on this machine (a directory trained elsewhere, e.g. by flyvis, stores the path it had there); override it: task.dataset.sintel_path=/path/to/MPI-Sintel"
                )
            }
            let folder = SintelFolder(root: URL(fileURLWithPath: path))
            _ = try folder.scenes(depth: render.depth)
            let key = "sintel \(URL(fileURLWithPath: path).standardizedFileURL.path) " + render.key
            let inputs = try folder.fingerprint(depth: render.depth)
            return try RenderCache.loadOrRender(
                root: root, kind: "RenderedSintel", key: key,
                fingerprint: "\(inputs.files) files \(inputs.hash)", hexals: hexals, log: log, stop: stop
            ) {
                log("Rendering Sintel from \(path) (once; cached under \(root.path)/renderings)")
                return try folder.render(render, progress: log, stop: stop)
            }
        }
        var b = BuiltinFlowConfig()
        b.scenes = try c.optionalInt("task.dataset.builtin.scenes") ?? b.scenes
        b.framesPerScene = try c.optionalInt("task.dataset.builtin.frames") ?? b.framesPerScene
        b.seed = UInt64(try c.optionalInt("task.dataset.builtin.seed") ?? Int(b.seed))
        guard b.scenes >= 2, b.framesPerScene >= render.nFrames + 1 else {
            throw ConfigError.outOfRange(
                key: "task.dataset.builtin", value: "scenes \(b.scenes), frames \(b.framesPerScene)",
                allowed: "at least 2 scenes of at least n_frames + 1 = \(render.nFrames + 1) frames")
        }
        return try RenderCache.loadOrRender(
            root: root, kind: "BuiltinFlow", key: b.key + " " + render.key, hexals: hexals, log: log,
            stop: stop
        ) {
            log("Generating the built-in synthetic optic-flow data set (\(b.scenes) scenes × \(b.framesPerScene) frames; once, cached)")
            let t0 = Date()
            let s = BuiltinFlow.render(config: b, render: render, stop: stop)
            if stop() { throw DataError.stopRequested }
            log(String(format: "Built-in data set ready in %.1f s", Date().timeIntervalSince(t0)))
            return s
        }
    }

    static func decoderConfig(_ c: Config, task: String) throws -> DecoderConfig {
        let k = "task.decoder.\(task)"
        var d = DecoderConfig()
        guard let name = TaskName(rawValue: task), name.targetChannels != nil else {
            throw ConfigError.outOfRange(
                key: "task.dataset.tasks", value: task, allowed: TaskName.targets.map(\.rawValue).joined(separator: ", "))
        }
        d.task = name
        d.shape = try c.list("\(k).shape").map { v -> Int in
            guard case let .int(i) = v else {
                throw ConfigError.wrongType(key: "\(k).shape", expected: "a list of integers", found: "\(v)")
            }
            return i
        }
        d.kernelSize = try c.int("\(k).kernel_size")
        d.constWeight = (try c.optionalDouble("\(k).const_weight")).map(Float.init)
        d.pDropout = try c.optionalDouble("\(k).p_dropout") ?? 0
        d.nOutFeatures = try c.optionalInt("\(k).n_out_features")
        if c.contains("\(k).batch_norm") { d.batchNorm = try c.bool("\(k).batch_norm") }
        if c.contains("\(k).normalize_last") { d.normalizeLast = try c.bool("\(k).normalize_last") }
        if let a = try c.optionalString("\(k).activation") {
            guard let kind = DecoderConfig.ActivationKind(rawValue: a) else {
                throw ConfigError.outOfRange(
                    key: "\(k).activation", value: a, allowed: DecoderConfig.ActivationKind.allCases.map(\.rawValue).joined(separator: ", ")
                )
            }
            d.activation = kind
        }
        return d
    }

    static func penalizer(_ c: Config, parameters: NetworkParameters) throws -> Penalizer {
        var activityParameters: [ParameterName] = []
        var parameterPenalties: [ParameterPenalty] = []
        for (group, prefix) in [("node_config", "nodes_"), ("edge_config", "edges_")] {
            guard let m = c.value("network.\(group)")?.mapValue else { continue }
            for name in m.keys {
                let k = "network.\(group).\(name).penalize"
                guard c.contains(k) else { continue }
                // A penalty on a parameter the network does not have would reach the optimizer
                // with a name it cannot update: refuse it here, naming the real parameters.
                guard let parameter = ParameterName(rawValue: prefix + name) else {
                    let known = ParameterName.names.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
                    throw ConfigError.unknownKey(
                        key: "network.\(group).\(name)",
                        hint: "\(group) parameters are \(known.joined(separator: ", "))")
                }
                if c.contains("\(k).activity"), try c.bool("\(k).activity") { activityParameters.append(parameter) }
                if let f = try c.optionalString("\(k).function") {
                    guard let fn = ParameterPenalty.Function(rawValue: f) else {
                        throw ConfigError.outOfRange(key: "\(k).function", value: f, allowed: "weight_decay, prior")
                    }
                    let lambda = try c.optionalDouble("\(k).kwargs.lambda") ?? 0
                    let prior = try c.optionalDouble("network.\(group).\(name).value") ?? 0
                    parameterPenalties.append(ParameterPenalty(parameter: parameter, function: fn, lambda: lambda, prior: prior))
                }
            }
        }
        let k = "penalizer.activity_penalty"
        var activity: ActivityPenalty?
        if c.contains(k) {
            activity = ActivityPenalty(
                weight: try c.optionalDouble("\(k).activity_penalty") ?? 0,
                baseline: try c.optionalDouble("\(k).activity_baseline") ?? 0,
                stopIter: try c.optionalInt("\(k).stop_iter"),
                belowBaselineWeight: try c.optionalDouble("\(k).below_baseline_penalty_weight") ?? 0,
                aboveBaselineWeight: try c.optionalDouble("\(k).above_baseline_penalty_weight") ?? 0)
        }
        return try Penalizer(activity: activity, activityParameters: activityParameters, parameterPenalties: parameterPenalties)
    }

    static func scheduler(_ c: Config) throws -> HyperParameterScheduler {
        let nIters = try c.int("task.n_iters")
        let stopIter = try c.optionalInt("scheduler.sched_stop_iter") ?? nIters
        var schedules: [Schedule] = []
        if let m = c.value("scheduler")?.mapValue {
            for key in m.keys where m[key]?.mapValue != nil {
                let target = try HyperParameterScheduler.target(named: key)
                schedules.append(
                    try Schedule(
                        target: target,
                        function: try ScheduleFunction.named(try c.string("scheduler.\(key).function"), key: "scheduler.\(key).function"),
                        start: try c.double("scheduler.\(key).start"), stop: try c.double("scheduler.\(key).stop"),
                        steps: try c.int("scheduler.\(key).steps"), stopIter: stopIter, nIterations: nIters))
            }
        }
        return HyperParameterScheduler(schedules: schedules, stopIter: stopIter)
    }
}
