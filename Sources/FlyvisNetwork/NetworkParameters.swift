import FlyvisConnectome
import FlyvisRandom
import Foundation

/// flyvis's shared network parameters, under its state-dict names and group orders:
/// `nodes_bias` and `nodes_time_const` per cell type, `edges_sign` and `edges_syn_strength` per
/// (source, target) edge type, `edges_syn_count` (raw, natural log) per (source, target, du, dv).
package struct NetworkParameters: Sendable, Equatable {
    package var bias: [Float]
    package var timeConst: [Float]
    package var sign: [Float]
    package var synCount: [Float]
    package var synStrength: [Float]
    package let config: NetworkParameterConfig

    /// Group keys, for lookup by name.
    package let typeNames: [String]
    package let edgeTypeKeys: [(source: String, target: String)]
    package let synCountKeys: [(source: String, target: String, du: Int, dv: Int)]

    package static func == (a: NetworkParameters, b: NetworkParameters) -> Bool {
        a.bias == b.bias && a.timeConst == b.timeConst && a.sign == b.sign && a.synCount == b.synCount
            && a.synStrength == b.synStrength && a.config == b.config
    }

    package init(connectome c: Connectome, config: NetworkParameterConfig = NetworkParameterConfig()) throws(ParameterError) {
        self.config = config
        try Self.checkGroupby(.bias, config.bias.groupby, [["type"]])
        try Self.checkGroupby(.timeConst, config.timeConst.groupby, [["type"]])
        try Self.checkGroupby(.sign, config.sign.groupby, [["source_type", "target_type"]])
        try Self.checkGroupby(.synStrength, config.synStrength.groupby, [["source_type", "target_type"]])
        try Self.checkGroupby(
            .synCount, config.synCount.groupby,
            [["source_type", "target_type", "dv", "du"], ["source_type", "target_type", "du", "dv"]])
        typeNames = c.cellTypes
        edgeTypeKeys = c.edgeTypes.map { (c.cellTypes[$0.source], c.cellTypes[$0.target]) }
        synCountKeys = c.groups.map { (c.cellTypes[$0.sourceType], c.cellTypes[$0.targetType], $0.du, $0.dv) }
        let nTypes = c.cellTypes.count

        bias = try Self.nodeValues(.bias, config.bias.initial, count: nTypes, typeNames: c.cellTypes)
        timeConst = try Self.nodeValues(.timeConst, config.timeConst.initial, count: nTypes, typeNames: c.cellTypes)

        // Mean synapse count per edge type over all its surviving edges (float64 accumulation).
        var nSynSum = [Double](repeating: 0, count: c.edgeTypes.count)
        var nSynCount = [Int](repeating: 0, count: c.edgeTypes.count)
        for g in c.groups {
            nSynSum[g.edgeType] += Double(g.nSyn) * Double(g.edgeCount)
            nSynCount[g.edgeType] += g.edgeCount
        }
        // Sign: flyvis's Value mode takes each edge type's first edge's sign; all its edges
        // carry the sign of their spec (edgeTypeSign).
        switch config.sign.initial {
        case .value: sign = c.edgeTypeSign
        default:
            throw .invalidDistribution(
                parameter: ParameterName.sign.rawValue, problem: "only initial_dist Value is supported (signs come from the connectome)")
        }
        switch config.synCount.initial {
        case .lognormalMean: synCount = c.groups.map { Float(Foundation.log(Double($0.nSyn))) }
        case let .value(v): synCount = [Float](repeating: Float(v), count: c.groups.count)
        case .normal:
            throw .invalidDistribution(parameter: ParameterName.synCount.rawValue, problem: "use initial_dist Lognormal with mode mean")
        }
        switch config.synStrength.initial {
        case let .value(v):
            if let scale = config.synStrength.scale {
                synStrength = (0..<c.edgeTypes.count).map { Float(scale / (nSynSum[$0] / Double(nSynCount[$0]))) }
            } else {
                synStrength = [Float](repeating: Float(v), count: c.edgeTypes.count)
            }
        case let .normal(mean, std, seed):
            synStrength = TorchNormal.sample(count: c.edgeTypes.count, mean: mean, std: std, seed: seed)
        case .lognormalMean:
            throw .invalidDistribution(parameter: ParameterName.synStrength.rawValue, problem: "use initial_dist Value with a scale")
        }
        clamp()
    }

    private static func checkGroupby(_ name: ParameterName, _ g: [String], _ allowed: [[String]]) throws(ParameterError) {
        guard allowed.contains(g) else { throw .unsupportedGroupby(parameter: name.rawValue, groupby: g, allowed: allowed[0]) }
    }

    private static func nodeValues(
        _ name: ParameterName, _ d: InitialDistribution, count: Int,
        typeNames: [String]
    ) throws(ParameterError) -> [Float] {
        switch d {
        case let .value(v):
            return [Float](repeating: Float(v), count: count)
        case let .normal(mean, std, seed):
            guard std >= 0 else { throw .invalidDistribution(parameter: name.rawValue, problem: "std must be non-negative") }
            // flyvis's CPU draw for seed 0, embedded exactly (our emulation of torch's generator
            // matches it to about one float32 ulp; embedding makes the default bit-exact).
            if seed == 0, mean == 0.5, std == 0.05, typeNames == DefaultBias.typeNames {
                return DefaultBias.values
            }
            return TorchNormal.sample(count: count, mean: mean, std: std, seed: seed)
        case .lognormalMean:
            throw .invalidDistribution(parameter: name.rawValue, problem: "Lognormal applies to edges_syn_count only")
        }
    }

    /// Applies the clamps (flyvis `Network.clamp`): only trainable parameters are clamped.
    package mutating func clamp() {
        func apply(_ values: inout [Float], _ c: ParameterConfig) {
            guard c.requiresGrad else { return }
            switch c.clamp {
            case .none: return
            case .nonNegative: for i in values.indices where values[i] < 0 { values[i] = 0 }
            case let .range(lo, hi):
                for i in values.indices { values[i] = min(max(values[i], Float(lo)), Float(hi)) }
            }
        }
        apply(&bias, config.bias)
        apply(&timeConst, config.timeConst)
        apply(&synStrength, config.synStrength)
    }

    /// The raw vector of a parameter.
    package subscript(_ name: ParameterName) -> [Float] {
        get {
            switch name {
            case .bias: return bias
            case .timeConst: return timeConst
            case .sign: return sign
            case .synCount: return synCount
            case .synStrength: return synStrength
            }
        }
        set {
            switch name {
            case .bias: bias = newValue
            case .timeConst: timeConst = newValue
            case .sign: sign = newValue
            case .synCount: synCount = newValue
            case .synStrength: synStrength = newValue
            }
        }
    }

    /// Replaces a parameter vector (e.g. from a checkpoint), checking its length.
    package mutating func set(_ name: ParameterName, _ values: [Float]) throws(ParameterError) {
        let expected = self[name].count
        guard expected == values.count else {
            throw .shapeMismatch(parameter: name.rawValue, expected: expected, found: values.count)
        }
        self[name] = values
    }

    /// The configuration of a parameter (initialisation, requires_grad, clamp, groupby).
    package func configuration(_ name: ParameterName) -> ParameterConfig {
        switch name {
        case .bias: return config.bias
        case .timeConst: return config.timeConst
        case .sign: return config.sign
        case .synCount: return config.synCount
        case .synStrength: return config.synStrength
        }
    }

    package func requiresGrad(_ name: ParameterName) -> Bool { configuration(name).requiresGrad }

    // MARK: Keys

    package func typeIndex(_ name: String, parameter: ParameterName = .bias) throws(ParameterError) -> Int {
        guard let i = typeNames.firstIndex(of: name) else { throw .unknownKey(parameter: parameter.rawValue, key: name) }
        return i
    }

    package func edgeTypeIndex(source: String, target: String, parameter: ParameterName = .synStrength) throws(ParameterError) -> Int {
        guard let i = edgeTypeKeys.firstIndex(where: { $0.source == source && $0.target == target }) else {
            throw .unknownKey(parameter: parameter.rawValue, key: "(\(source), \(target))")
        }
        return i
    }

    package func synCountIndex(source: String, target: String, du: Int, dv: Int) throws(ParameterError) -> Int {
        guard let i = synCountKeys.firstIndex(where: { $0 == (source, target, du, dv) }) else {
            throw .unknownKey(parameter: ParameterName.synCount.rawValue, key: "(\(source), \(target), \(du), \(dv))")
        }
        return i
    }

    /// Reads a value by key: a type name for node parameters, (source, target) for sign and
    /// strength, (source, target, du, dv) for syn_count.
    package func value(_ parameter: ParameterName, _ key: String...) throws(ParameterError) -> Float {
        self[parameter][try index(parameter, key)]
    }

    package mutating func setValue(_ parameter: ParameterName, _ key: [String], _ value: Float) throws(ParameterError) {
        let i = try index(parameter, key)
        self[parameter][i] = value
    }

    private func index(_ parameter: ParameterName, _ key: [String]) throws(ParameterError) -> Int {
        switch (parameter, key.count) {
        case (.bias, 1), (.timeConst, 1): return try typeIndex(key[0], parameter: parameter)
        case (.sign, 2), (.synStrength, 2): return try edgeTypeIndex(source: key[0], target: key[1], parameter: parameter)
        case (.synCount, 4):
            guard let du = Int(key[2]), let dv = Int(key[3]) else {
                throw .unknownKey(parameter: parameter.rawValue, key: key.joined(separator: ", "))
            }
            return try synCountIndex(source: key[0], target: key[1], du: du, dv: dv)
        default:
            throw .unknownKey(parameter: parameter.rawValue, key: key.joined(separator: ", "))
        }
    }
}
