import FlyvisBase
import FlyvisHex
import Foundation

extension Config {
    /// Rejects values the trainer cannot use, naming the key and the allowed values. Keys that
    /// are still `???` are only reported when they are read. Names that select an
    /// implementation (activation, loss, schedule function and target) are checked by the
    /// solver against the enums that implement them (`Build.checkChoices`).
    func validate() throws(ConfigError) {
        func positive(_ key: String) throws(ConfigError) {
            guard contains(key) else { return }
            let v = try double(key)
            guard v > 0, v.isFinite else { throw .outOfRange(key: key, value: "\(v)", allowed: "a positive number") }
        }
        /// Learning rates: finite and not negative (0 freezes a part; NaN would only show as a
        /// NaN loss after data generation, and a negative rate climbs the loss).
        func learningRate(_ key: String) throws(ConfigError) {
            guard contains(key) else { return }
            let v = try double(key)
            guard v >= 0, v.isFinite else {
                throw .outOfRange(key: key, value: "\(v)", allowed: "a finite learning rate ≥ 0, e.g. 5e-05")
            }
        }
        func atLeast(_ key: String, _ lo: Int) throws(ConfigError) {
            guard contains(key) else { return }
            let v = try int(key)
            guard v >= lo else { throw .outOfRange(key: key, value: "\(v)", allowed: "an integer ≥ \(lo)") }
        }
        func probability(_ key: String) throws(ConfigError) {
            guard contains(key), case .some(let x) = value(key), x != .null else { return }
            let v = try double(key)
            guard (0...1).contains(v) else { throw .outOfRange(key: key, value: "\(v)", allowed: "a probability in [0, 1]") }
        }
        func oneOf(_ key: String, _ allowed: [String]) throws(ConfigError) {
            guard contains(key) else { return }
            let v = try string(key)
            guard allowed.contains(v) else { throw .outOfRange(key: key, value: v, allowed: allowed.joined(separator: ", ")) }
        }
        /// An integer that sizes what a run allocates, refused beyond `hi` with the reason.
        func within(_ key: String, _ lo: Int, _ hi: Int, _ why: String) throws(ConfigError) {
            guard contains(key), value(key) != .null else { return }
            let v = try int(key)
            guard (lo...hi).contains(v) else {
                throw .outOfRange(key: key, value: "\(v)", allowed: "an integer ≥ \(lo) and ≤ \(hi) (\(why))")
            }
        }
        /// A time in seconds within [lo, hi]: time steps per sequence and warm-up are
        /// durations divided by dt.
        func seconds(_ key: String, _ lo: Double, _ hi: Double) throws(ConfigError) {
            guard contains(key) else { return }
            let v = try double(key)
            guard v >= lo, v <= hi else { throw .outOfRange(key: key, value: "\(v)", allowed: "a number of seconds from \(lo) to \(hi)") }
        }
        for key in RunFlag.allCases.map(\.key) where contains(key) { _ = try bool(key) }
        try positive("task.dataset.dt")
        try seconds("task.dataset.dt", Self.minTimeStep, 1)
        // Sizes are checked before anything is allocated: the schedules hold one value per
        // iteration, frames, scenes and kernels size the data set and the decoders.
        try within("task.n_iters", 1, Self.maxIterations, "flyvis trains 250000; the schedules and histories keep one value per iteration")
        try within("task.batch_size", 1, 4096, "flyvis uses 4")
        try within("task.dataset.n_frames", 1, 1000, "flyvis uses 19; Sintel sequences have at most 50 frames")
        try within("task.dataset.vertical_splits", 0, 100, "flyvis uses 3")
        try within("task.dataset.boxfilter.kernel_size", 1, 436, "flyvis uses 13; a Sintel frame is 436 pixels high")
        try within("task.dataset.builtin.scenes", 2, 10_000, "default 24")
        try within("task.dataset.builtin.frames", 2, 200, "default 21; each scene is generated at Sintel's 436 × 1024")
        try within("task.dataset.builtin.seed", 0, Int.max, "a non-negative seed")
        try within("task.n_folds", 2, 1000, "flyvis uses 4")
        try atLeast("scheduler.chkpt_every_epoch", 1)
        try within("scheduler.sched_stop_iter", 0, Self.maxIterations, "at most task.n_iters")
        if let decoders = value("task.decoder")?.mapValue {
            for k in decoders.keys {
                try within("task.decoder.\(k).kernel_size", 1, 99, "flyvis uses 5")
                if case let .list(shape)? = value("task.decoder.\(k).shape") {
                    for (i, c) in shape.enumerated() {
                        guard case let .int(n) = c, (1...4096).contains(n) else {
                            throw .outOfRange(
                                key: "task.decoder.\(k).shape", value: "\(c) at position \(i)",
                                allowed: "channel counts from 1 to 4096 (flyvis uses [8, 2])")
                        }
                    }
                }
            }
        }
        if contains("network.connectome.extent") {
            let e = try int("network.connectome.extent"), r = HexLattice.networkExtents
            guard r.contains(e) else {
                throw .outOfRange(
                    key: "network.connectome.extent", value: "\(e)",
                    allowed: "an integer from \(r.lowerBound) to \(r.upperBound) (flyvis uses 15)")
            }
        }
        try positive("t_pre_train")
        try seconds("t_pre_train", 0, 100)
        try probability("task.dataset.p_flip")
        try probability("task.dataset.p_rot")
        for task in TaskName.targets where contains("task.decoder.\(task.rawValue).p_dropout") {
            try probability("task.decoder.\(task.rawValue).p_dropout")
        }
        if contains("task.dataset.tasks") {
            for t in try list("task.dataset.tasks") {
                guard case let .string(s) = t, TaskName(rawValue: s) != nil else {
                    throw .outOfRange(key: "task.dataset.tasks", value: "\(t)", allowed: TaskName.allowed)
                }
            }
        }
        try oneOf("network.dynamics.type", ["PPNeuronIGRSynapses"])
        try oneOf("network.connectome.type", ["ConnectomeFromAvgFilters"])
        try oneOf("optim.type", ["Adam"])
        try oneOf("penalizer.optim", ["SGD"])
        if let decoders = value("task.decoder")?.mapValue {
            for k in decoders.keys { try oneOf("task.decoder.\(k).type", ["DecoderGAVP"]) }
        }
        if let sched = value("scheduler")?.mapValue {
            for k in sched.keys {
                // Which entries exist is checked by the solver (Build.checkChoices).
                guard case let .map(entry)? = sched[k] else { continue }
                guard case .string? = entry["function"] else {
                    throw .missingValue(key: "scheduler.\(k).function")
                }
                try within("scheduler.\(k).steps", 1, Self.maxIterations, "flyvis uses 10")
                if k.hasPrefix("lr_") {
                    try learningRate("scheduler.\(k).start")
                    try learningRate("scheduler.\(k).stop")
                } else if k == "dt" {
                    try positive("scheduler.dt.start")
                    try positive("scheduler.dt.stop")
                    try seconds("scheduler.dt.start", Self.minTimeStep, 1)
                    try seconds("scheduler.dt.stop", Self.minTimeStep, 1)
                }
            }
        }
        // After the schedules: these default to ${scheduler.lr_*.start}, which is named first.
        try learningRate("optim.optim_net.lr")
        try learningRate("optim.optim_dec.lr")
    }

    /// The most iterations a run may ask for (40 times flyvis's 250000): the schedules keep
    /// one value per iteration from the start, the histories one per iteration trained.
    package static let maxIterations = 10_000_000
    /// The shortest time step (flyvis uses 0.02 s): durations over dt are step counts.
    package static let minTimeStep = 1e-4

    // MARK: Output

    /// The resolved config as YAML (insertion order).
    package func yaml(_ map: ConfigMap? = nil) -> String {
        Self.emit(.map(map ?? root), indent: 0)
    }

    /// `_meta.yaml` as datamate writes it for a NetworkDir: the config with `type: NetworkDir`
    /// first, then the status.
    package func metaYAML(status: String, keys: [String]? = nil) -> String {
        var m = ConfigMap()
        m["type"] = .string("NetworkDir")
        for k in keys ?? root.keys { if let v = root[k] { m[k] = v } }
        var top = ConfigMap()
        top["config"] = .map(m)
        top["status"] = .string(status)
        return Self.emit(.map(top), indent: 0)
    }

    static func emit(_ v: ConfigValue, indent: Int) -> String {
        let pad = String(repeating: " ", count: indent)
        switch v {
        case let .map(m):
            if m.isEmpty { return pad + "{}\n" }
            var out = ""
            for k in m.keys {
                let child = m[k]!
                switch child {
                case let .map(cm) where !cm.isEmpty:
                    out += "\(pad)\(scalar(.string(k))):\n" + emit(child, indent: indent + 2)
                case let .list(l) where !l.isEmpty:
                    out += "\(pad)\(scalar(.string(k))):\n" + emit(child, indent: indent)
                default:
                    out += "\(pad)\(scalar(.string(k))): \(scalar(child))\n"
                }
            }
            return out
        case let .list(l):
            var out = ""
            for item in l {
                switch item {
                case let .map(m) where !m.isEmpty:
                    let body = emit(item, indent: indent + 2)
                    out += pad + "- " + body.dropFirst(indent + 2)
                case let .list(inner) where !inner.isEmpty:
                    out += pad + "- " + scalar(item) + "\n"
                default:
                    out += "\(pad)- \(scalar(item))\n"
                }
            }
            return out
        default:
            return pad + scalar(v) + "\n"
        }
    }

    /// A scalar in flow style, quoting strings YAML would otherwise read as something else.
    static func scalar(_ v: ConfigValue) -> String {
        switch v {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .double(d): return formatDouble(d)
        case let .list(l): return "[" + l.map { scalar($0) }.joined(separator: ", ") + "]"
        case let .map(m): return "{" + m.keys.map { "\(scalar(.string($0))): \(scalar(m[$0]!))" }.joined(separator: ", ") + "}"
        case let .string(s):
            let plain =
                s.range(of: #"^[A-Za-z_/][A-Za-z0-9_./()\- ]*$"#, options: .regularExpression) != nil
                && !["true", "false", "null", "yes", "no", "on", "off", "~"].contains(s.lowercased())
                && !s.hasSuffix(" ") && s != "???"
            if plain { return s }
            return "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
        }
    }

    // MARK: Comparison

    /// Every leaf as dotted key → value.
    package func flattened() -> [String: ConfigValue] {
        var out: [String: ConfigValue] = [:]
        func walk(_ v: ConfigValue, _ prefix: String) {
            if case let .map(m) = v, !m.isEmpty {
                for k in m.keys { walk(m[k]!, prefix.isEmpty ? k : "\(prefix).\(k)") }
            } else {
                out[prefix] = v
            }
        }
        walk(.map(root), "")
        return out
    }

    /// Keys whose values differ (or exist on one side only), ignoring `ignoring` and anything
    /// below them; as "key: ours → theirs" lines, sorted.
    package func diff(_ other: Config, ignoring: Set<String> = []) -> [String] {
        let a = flattened(), b = other.flattened()
        func ignored(_ k: String) -> Bool { ignoring.contains { k == $0 || k.hasPrefix($0 + ".") } }
        return Set(a.keys).union(b.keys).filter { !ignored($0) && a[$0] != b[$0] }.sorted().map { k in
            "\(k): \(a[k].map(\.description) ?? "(absent)") → \(b[k].map(\.description) ?? "(absent)")"
        }
    }

    /// Parses a config back from `_meta.yaml` text (its `config` mapping, without `type`).
    package static func fromMeta(_ text: String, file: String) throws(ConfigError) -> (config: Config, status: String?) {
        let top = try ConfigValue.parse(yaml: text, file: file)
        guard case var .map(m)? = top["config"] else { throw .yaml(file: file, problem: "no 'config' mapping") }
        m["type"] = nil
        var status: String?
        if case let .string(s)? = top["status"] { status = s }
        return (Config(root: m), status)
    }
}
