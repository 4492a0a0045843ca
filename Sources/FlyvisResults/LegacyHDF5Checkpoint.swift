import FlyvisHDF5
import FlyvisNetwork
import FlyvisRandom
import Foundation

/// Reads checkpoints written by earlier flyvis-swift versions (one HDF5 file with datasets
/// `network/<param>`, `decoder/<task>/<key>`, `optim/state/<id>/*`, `optim/param_groups/*`,
/// `activity_optim/param_groups/lr`, `rng/*`, `solver/*`, root attributes and an FNV-1a
/// checksum), so that runs started before the switch to torch's format still resume.
enum LegacyHDF5Checkpoint {
    static func looksLikeHDF5(path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        return (try? h.read(upToCount: 8)).map { Array($0) == [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a] } ?? false
    }

    static func read(_ path: String) throws(ResultsError) -> Checkpoint {
        var arrays: [String: CheckpointArray] = [:]
        let iteration: Int, valLoss: Double, dt: Double, time: String, stored: UInt64
        do {
            let f = try HDF5File(path: path, mode: .readOnly)
            for key in try datasetPaths(f, "/") {
                let s = try f.shape(key)
                switch try f.elementType(key) {
                case "float32": arrays[key] = .float(try f.read(key, as: Float.self).values, shape: s)
                case "float64": arrays[key] = .double(try f.read(key, as: Double.self).values, shape: s)
                case "uint8": arrays[key] = .uint8(try f.read(key, as: UInt8.self).values, shape: s)
                default: arrays[key] = .int64(try f.read(key, as: Int64.self).values, shape: s)
                }
            }
            iteration = Int(try f.attribute("iteration", as: Int64.self))
            valLoss = try f.attribute("val_loss", as: Double.self)
            dt = try f.attribute("dt", as: Double.self)
            time = try f.stringAttribute("time")
            stored = UInt64(bitPattern: try f.attribute("checksum", as: Int64.self))
        } catch {
            throw .corruptCheckpoint(path: path, reason: "\(error)")
        }
        guard stored == checksum(arrays, iteration: iteration, valLoss: valLoss, dt: dt, time: time) else {
            throw .corruptCheckpoint(path: path, reason: "checksum mismatch")
        }
        var c = Checkpoint()
        c.iteration = iteration
        c.valLoss = valLoss
        c.dt = dt
        c.time = time
        for name in ParameterName.names { c.network[name] = arrays["network/\(name)"] }
        var decoderParams: [String] = []
        for key in arrays.keys.sorted() where key.hasPrefix("decoder/") {
            let parts = key.split(separator: "/", maxSplits: 2).map(String.init)
            guard parts.count == 3 else { continue }
            c.decoder[parts[1], default: StateDict()][parts[2]] = arrays[key]
            if !parts[2].contains("running"), !parts[2].contains("num_batches") { decoderParams.append(key) }
        }
        let lrs = arrays["optim/param_groups/lr"]?.doubles ?? []
        let betas = arrays["optim/param_groups/betas"]?.doubles ?? [0.9, 0.999]
        let eps = arrays["optim/param_groups/eps"]?.doubles?.first ?? 1e-8
        if !lrs.isEmpty {
            // Ids as the solver assigned them: the five network parameters, then the decoders'.
            let n = ParameterName.allCases.count
            let sizes = [n, decoderParams.count]
            var next = 0
            var groups: [OptimizerState.Group] = []
            for (g, lr) in lrs.enumerated() {
                let size = g < sizes.count ? sizes[g] : 0
                groups.append(OptimizerState.Group(lr: lr, params: Array(next..<next + size), betas: betas, eps: eps))
                next += size
            }
            var state: [Int: OptimizerState.AdamEntry] = [:]
            for key in arrays.keys where key.hasPrefix("optim/state/") && key.hasSuffix("/step") {
                let id = key.split(separator: "/")[2]
                guard let i = Int(id), let step = arrays[key]?.doubles?.first,
                    let m = arrays["optim/state/\(id)/exp_avg"], let v = arrays["optim/state/\(id)/exp_avg_sq"]
                else { continue }
                state[i] = OptimizerState.AdamEntry(step: step, expAvg: m, expAvgSq: v)
            }
            c.optim = OptimizerState(kind: .adam, groups: groups, state: state)
        }
        if let lr = arrays["activity_optim/param_groups/lr"]?.doubles?.first {
            c.activityOptim = OptimizerState(kind: .sgd, groups: [OptimizerState.Group(lr: lr, params: [0])])
        }
        if let data = arrays["rng/data"]?.int64s {
            var dropout: [String: [UInt64]] = [:]
            for key in arrays.keys where key.hasPrefix("rng/dropout/") {
                dropout[String(key.dropFirst("rng/dropout/".count))] = arrays[key]!.int64s?.map { UInt64(bitPattern: $0) }
            }
            c.resume = ResumeState(
                dataRNG: data.map { UInt64(bitPattern: $0) }, dropoutRNG: dropout,
                epochsDone: Int(arrays["solver/epochs_done"]?.int64s?.first ?? 0),
                timeTrained: arrays["solver/time_trained"]?.doubles?.first ?? 0)
        }
        return c
    }

    /// FNV-1a over every array (sorted by key, with its key and shape) and the scalar metadata,
    /// exactly as the HDF5 format stored it.
    static func checksum(_ arrays: [String: CheckpointArray], iteration: Int, valLoss: Double, dt: Double, time: String) -> UInt64 {
        var fnv = FNV1a()
        func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 { fnv.mix(bytes) }
        for key in arrays.keys.sorted() {
            let a = arrays[key]!
            mix(key.utf8)
            mix(a.shape.map(Int64.init).withUnsafeBytes { Array($0) })
            switch a {
            case let .float(v, _): mix(v.withUnsafeBytes { Array($0) })
            case let .double(v, _): mix(v.withUnsafeBytes { Array($0) })
            case let .int64(v, _): mix(v.withUnsafeBytes { Array($0) })
            case let .uint8(v, _): mix(v)
            }
        }
        mix([Int64(iteration)].withUnsafeBytes { Array($0) })
        mix([valLoss.bitPattern].withUnsafeBytes { Array($0) })
        mix([dt.bitPattern].withUnsafeBytes { Array($0) })
        mix(time.utf8)
        return fnv.value
    }

    private static func datasetPaths(_ f: HDF5File, _ group: String) throws -> [String] {
        var out: [String] = []
        for child in try f.children(group) {
            let p = group == "/" ? child : "\(group)/\(child)"
            if (try? f.shape(p)) != nil {
                out.append(p)
            } else {
                out += try datasetPaths(f, p)
            }
        }
        return out
    }
}
