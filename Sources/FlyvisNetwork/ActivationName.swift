extension Activation {
    /// The activation types flyvis's config names (`network.dynamics.activation.type`); the
    /// one list of them, from which the config error's allowed values are derived.
    package enum Name: String, CaseIterable, Sendable {
        case relu, leakyrelu, elu, softplus, sigmoid, tanh
    }

    /// The activation of a config name with its options (torch's defaults where unset).
    package init(_ name: Name, negativeSlope: Double?, alpha: Double?, beta: Double?, threshold: Double?) {
        switch name {
        case .relu: self = .relu
        case .leakyrelu: self = .leakyRelu(slope: negativeSlope ?? 0.01)
        case .elu: self = .elu(alpha: alpha ?? 1)
        case .softplus: self = .softplus(beta: beta ?? 1, threshold: threshold ?? 20)
        case .sigmoid: self = .sigmoid
        case .tanh: self = .tanh
        }
    }
}
