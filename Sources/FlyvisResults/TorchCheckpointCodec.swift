import FlyvisTorch
import Foundation

/// `Checkpoint` ⇄ the dict flyvis's solver passes to `torch.save`. Writing follows what flyvis
/// 1.2.0 writes (key order, OrderedDict state dicts, torch's optimizer fields, Adam's `step`
/// as a float32 scalar tensor); reading accepts what flyvis writes, including numpy float64
/// scalars and parameters without Adam state.
enum TorchCheckpointCodec {
    typealias S = CheckpointSchema

    static func write(_ c: Checkpoint, to path: String, archiveName: String) throws(TorchFormatError) {
        try TorchArchive.write(encode(c), to: path, archiveName: archiveName)
    }

    static func read(_ path: String) throws(ResultsError) -> Checkpoint {
        let value: PickleValue
        do { value = try TorchArchive.read(path: path) } catch {
            throw .corruptCheckpoint(path: path, reason: error.description)
        }
        do { return try decode(value) } catch let e as Malformed {
            throw .corruptCheckpoint(path: path, reason: e.reason)
        } catch {
            throw .corruptCheckpoint(path: path, reason: "\(error)")
        }
    }

    // MARK: Encoding

    static func encode(_ c: Checkpoint) -> PickleValue {
        var top: [PickleEntry] = [PickleEntry(.string(S.network), stateDict(c.network))]
        top.append(
            PickleEntry(
                .string(S.decoder),
                .dict(c.decoder.keys.sorted().map { PickleEntry(.string($0), stateDict(c.decoder[$0]!)) }, ordered: false)))
        if let o = c.optim { top.append(PickleEntry(.string(S.optim), optimizer(o))) }
        top.append(PickleEntry(.string(S.time), .string(c.time)))
        top.append(PickleEntry(.string(S.valLoss), .float(c.valLoss)))
        top.append(PickleEntry(.string(S.iteration), .int(Int64(c.iteration))))
        top.append(PickleEntry(.string(S.dt), .float(c.dt)))
        if let o = c.activityOptim { top.append(PickleEntry(.string(S.activityOptim), optimizer(o))) }
        if let r = c.resume { top.append(PickleEntry(.string(S.resume), resume(r))) }
        return .dict(top, ordered: false)
    }

    static func stateDict(_ d: StateDict) -> PickleValue {
        .dict(d.names.map { PickleEntry(.string($0), .tensor(tensor(d[$0]!))) }, ordered: true)
    }

    static func tensor(_ a: CheckpointArray) -> TorchTensor {
        switch a {
        case let .float(v, s): return TorchTensor(v, shape: s)
        case let .double(v, s): return TorchTensor(v, shape: s)
        case let .int64(v, s): return TorchTensor(v, shape: s)
        case let .uint8(v, s): return TorchTensor(v, shape: s)
        }
    }

    /// torch's `Optimizer.state_dict()`, with the group fields torch 2.x writes for Adam / SGD.
    static func optimizer(_ o: OptimizerState) -> PickleValue {
        let state = o.state.keys.sorted().map { id -> PickleEntry in
            let e = o.state[id]!
            return PickleEntry(
                .int(Int64(id)),
                .dict([
                    S.step: .tensor(TorchTensor([Float(e.step)], shape: [])),
                    S.expAvg: .tensor(tensor(e.expAvg)),
                    S.expAvgSq: .tensor(tensor(e.expAvgSq)),
                ]))
        }
        let groups = o.groups.map { g -> PickleValue in
            let params = PickleValue.list(g.params.map { .int(Int64($0)) })
            switch o.kind {
            case .adam:
                return .dict([
                    "lr": .float(g.lr), "betas": .tuple(g.betas.map { .float($0) }), "eps": .float(g.eps),
                    "weight_decay": number(g.weightDecay), "amsgrad": .bool(false), "maximize": .bool(false),
                    "foreach": .none, "capturable": .bool(false), "differentiable": .bool(false), "fused": .none,
                    "decoupled_weight_decay": .bool(false), S.params: params,
                ])
            case .sgd:
                return .dict([
                    "lr": .float(g.lr), "momentum": .int(0), "dampening": .int(0), "weight_decay": number(g.weightDecay),
                    "nesterov": .bool(false), "maximize": .bool(false), "foreach": .none, "differentiable": .bool(false),
                    "fused": .none, S.params: params,
                ])
            }
        }
        return .dict([S.state: .dict(state, ordered: false), S.paramGroups: .list(groups)])
    }

    /// torch keeps an integer weight decay of 0 as the int it was given.
    static func number(_ x: Double) -> PickleValue { x == x.rounded() && abs(x) < 1e15 ? .int(Int64(x)) : .float(x) }

    static func resume(_ r: ResumeState) -> PickleValue {
        .dict([
            S.formatKey: .string(S.format),
            S.dataRNG: .tensor(TorchTensor(r.dataRNG.map { Int64(bitPattern: $0) })),
            S.dropoutRNG: .dict(
                r.dropoutRNG.keys.sorted().map {
                    PickleEntry(.string($0), .tensor(TorchTensor(r.dropoutRNG[$0]!.map { Int64(bitPattern: $0) })))
                },
                ordered: false),
            S.epochsDone: .int(Int64(r.epochsDone)),
            S.timeTrained: .float(r.timeTrained),
        ])
    }

    // MARK: Decoding

    struct Malformed: Error { let reason: String }

    static func decode(_ v: PickleValue) throws -> Checkpoint {
        guard v.entries != nil else { throw Malformed(reason: "the pickled object is a \(v.kind), not a checkpoint dict") }
        var c = Checkpoint()
        guard let net = v[S.network] else { throw Malformed(reason: "no '\(S.network)' state dict (is this a flyvis checkpoint?)") }
        c.network = try stateDict(net, key: S.network)
        if let dec = v[S.decoder] {
            guard let entries = dec.entries else { throw Malformed(reason: "'\(S.decoder)' is a \(dec.kind), not {task: state dict}") }
            for e in entries {
                guard let task = e.key.string else { throw Malformed(reason: "'\(S.decoder)' has a non-string task key") }
                c.decoder[task] = try stateDict(e.value, key: "\(S.decoder)/\(task)")
            }
        }
        if let o = v[S.optim] { c.optim = try optimizer(o, key: S.optim, kind: .adam) }
        if let o = v[S.activityOptim] { c.activityOptim = try optimizer(o, key: S.activityOptim, kind: .sgd) }
        if let t = v[S.time] { c.time = t.string ?? "" }
        if let x = v[S.valLoss] { c.valLoss = try number(x, key: S.valLoss) }
        if let x = v[S.iteration] {
            guard let i = x.int ?? x.tensor.flatMap({ $0.count == 1 ? Int64($0.asDoubles[0]) : nil }) else {
                throw Malformed(reason: "'\(S.iteration)' is a \(x.kind), not an int")
            }
            c.iteration = Int(i)
        }
        if let x = v[S.dt] { c.dt = try number(x, key: S.dt) }
        if let r = v[S.resume] { c.resume = try resume(r) }
        return c
    }

    static func number(_ v: PickleValue, key: String) throws -> Double {
        if let d = v.double { return d }
        if let t = v.tensor, t.count == 1 { return t.asDoubles[0] }
        throw Malformed(reason: "'\(key)' is a \(v.kind), not a number")
    }

    static func stateDict(_ v: PickleValue, key: String) throws -> StateDict {
        guard let entries = v.entries else { throw Malformed(reason: "'\(key)' is a \(v.kind), not a state dict") }
        var d = StateDict()
        for e in entries {
            guard let name = e.key.string else { throw Malformed(reason: "'\(key)' has a non-string key") }
            guard let t = e.value.tensor else { throw Malformed(reason: "'\(key)/\(name)' is a \(e.value.kind), not a tensor") }
            d[name] = try array(t, key: "\(key)/\(name)")
        }
        return d
    }

    static func array(_ t: TorchTensor, key: String) throws -> CheckpointArray {
        switch t.dtype {
        case .float32: return .float(t.floats!, shape: t.shape)
        case .float64: return .double(t.doubles!, shape: t.shape)
        case .int64: return .int64(t.int64s!, shape: t.shape)
        case .uint8: return .uint8(t.uint8s!, shape: t.shape)
        case .float16, .bfloat16: return .float(t.asDoubles.map(Float.init), shape: t.shape)
        case .int32, .int16, .int8, .bool: return .int64(t.asDoubles.map { Int64($0) }, shape: t.shape)
        }
    }

    static func optimizer(_ v: PickleValue, key: String, kind: OptimizerState.Kind) throws -> OptimizerState {
        guard let groupsValue = v[S.paramGroups]?.items else { throw Malformed(reason: "'\(key)' has no param_groups list") }
        var groups: [OptimizerState.Group] = []
        var isAdam = kind == .adam
        for (g, group) in groupsValue.enumerated() {
            let where_ = "\(key)/param_groups/\(g)"
            guard let lrValue = group["lr"] else { throw Malformed(reason: "'\(where_)' has no lr") }
            let params = try (group[S.params]?.items ?? []).map { p -> Int in
                guard let i = p.int else { throw Malformed(reason: "'\(where_)/params' holds a \(p.kind)") }
                return Int(i)
            }
            var out = OptimizerState.Group(lr: try number(lrValue, key: "\(where_)/lr"), params: params)
            if let b = group["betas"]?.items {
                out.betas = try b.map { try number($0, key: "\(where_)/betas") }
            } else if g == 0 {
                isAdam = false
            }
            if let e = group["eps"] { out.eps = try number(e, key: "\(where_)/eps") }
            if let w = group["weight_decay"] { out.weightDecay = try number(w, key: "\(where_)/weight_decay") }
            groups.append(out)
        }
        var state: [Int: OptimizerState.AdamEntry] = [:]
        for e in v[S.state]?.entries ?? [] {
            guard let id = e.key.int else { throw Malformed(reason: "'\(key)/state' has a non-int key") }
            let at = "\(key)/state/\(id)"
            guard let stepValue = e.value[S.step], let m = e.value[S.expAvg]?.tensor, let s = e.value[S.expAvgSq]?.tensor else {
                continue  // not Adam state (e.g. an SGD momentum buffer): nothing we restore
            }
            state[Int(id)] = OptimizerState.AdamEntry(
                step: try number(stepValue, key: "\(at)/step"),
                expAvg: try array(m, key: "\(at)/exp_avg"),
                expAvgSq: try array(s, key: "\(at)/exp_avg_sq"))
        }
        return OptimizerState(kind: isAdam ? .adam : .sgd, groups: groups, state: state)
    }

    static func resume(_ v: PickleValue) throws -> ResumeState {
        func words(_ x: PickleValue?, _ key: String) throws -> [UInt64] {
            guard let t = x?.tensor, let w = t.int64s else { throw Malformed(reason: "'\(S.resume)/\(key)' is missing or not int64") }
            return w.map { UInt64(bitPattern: $0) }
        }
        var dropout: [String: [UInt64]] = [:]
        for e in v[S.dropoutRNG]?.entries ?? [] {
            guard let task = e.key.string else { continue }
            dropout[task] = try words(e.value, "\(S.dropoutRNG)/\(task)")
        }
        return ResumeState(
            dataRNG: try words(v[S.dataRNG], S.dataRNG), dropoutRNG: dropout,
            epochsDone: Int(v[S.epochsDone]?.int ?? 0), timeTrained: v[S.timeTrained]?.double ?? 0)
    }
}
