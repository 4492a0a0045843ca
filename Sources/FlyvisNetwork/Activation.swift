import FlyvisBase
import FlyvisConnectome
import Foundation

/// The synaptic transfer function, applied to the presynaptic voltage.
package enum Activation: Sendable, Equatable {
    case relu
    case leakyRelu(slope: Double)
    case elu(alpha: Double)
    case softplus(beta: Double, threshold: Double)
    case sigmoid
    case tanh

    @inlinable @inline(__always)
    package func value<S: NetworkScalar>(_ x: S) -> S {
        switch self {
        // `x < 0 ? 0 : x` keeps NaN, as torch's relu does (flyvis's padded stimuli are NaN).
        case .relu: return x < 0 ? 0 : x
        case let .leakyRelu(slope): return x > 0 ? x : S(slope) * x
        case let .elu(alpha): return x > 0 ? x : S(alpha) * (S.exponential(x) - 1)
        case let .softplus(beta, threshold):
            let bx = S(beta) * x
            return bx > S(threshold) ? x : S.logOnePlus(S.exponential(bx)) / S(beta)
        case .sigmoid: return 1 / (1 + S.exponential(-x))
        case .tanh: return S.hyperbolicTangent(x)
        }
    }

    @inlinable @inline(__always)
    package func derivative<S: NetworkScalar>(_ x: S) -> S {
        switch self {
        case .relu: return x > 0 ? 1 : 0
        case let .leakyRelu(slope): return x > 0 ? 1 : S(slope)
        case let .elu(alpha): return x > 0 ? 1 : S(alpha) * S.exponential(x)
        case let .softplus(beta, threshold):
            let bx = S(beta) * x
            return bx > S(threshold) ? 1 : 1 / (1 + S.exponential(-bx))
        case .sigmoid:
            let s = 1 / (1 + S.exponential(-x))
            return s * (1 - s)
        case .tanh:
            let t = S.hyperbolicTangent(x)
            return 1 - t * t
        }
    }
}
