import FlyvisBase
import FlyvisHex
import FlyvisNetwork
import FlyvisRandom
import Foundation

/// flyvis's `DecoderGAVP` configuration (task.decoder.<task>).
package struct DecoderConfig: Sendable, Equatable {
    package enum ActivationKind: String, Sendable, CaseIterable {
        case softplus = "Softplus", relu = "ReLU", elu = "ELU", tanh = "Tanh", sigmoid = "Sigmoid"
    }
    package var shape: [Int] = [8, 2]
    package var kernelSize = 5
    package var constWeight: Float? = 0.001
    package var pDropout: Double = 0.5
    package var batchNorm = true
    package var activation = ActivationKind.softplus
    package var normalizeLast = true
    package var nOutFeatures: Int?
    /// The task this decoder is for: its config keys are `task.decoder.<task>`.
    package var task = TaskName.flow

    package init() {}

    func validate() throws(DecoderError) {
        guard !shape.isEmpty, shape.allSatisfy({ $0 >= 0 }), shape.last! > 0 else {
            throw .invalidConfig(
                task: task.rawValue, key: "shape", problem: "needs non-negative channel counts ending in a positive one, e.g. [8, 2]")
        }
        guard kernelSize >= 1, kernelSize % 2 == 1 else {
            throw .invalidConfig(task: task.rawValue, key: "kernel_size", problem: "must be odd and positive (got \(kernelSize))")
        }
        guard (0..<1).contains(pDropout) else {
            throw .invalidConfig(task: task.rawValue, key: "p_dropout", problem: "must be in [0, 1) (got \(pDropout))")
        }
        if let n = nOutFeatures, n < 1 {
            throw .invalidConfig(task: task.rawValue, key: "n_out_features", problem: "must be positive or null")
        }
    }
}

extension DecoderConfig.ActivationKind {
    /// The activation function itself, shared with the network, with torch's defaults for the
    /// nn modules flyvis's decoder uses (Softplus: beta 1, threshold 20; ELU: alpha 1).
    package var function: Activation {
        switch self {
        case .softplus: return torchSoftplus
        case .relu: return .relu
        case .elu: return .elu(alpha: 1)
        case .tanh: return .tanh
        case .sigmoid: return .sigmoid
        }
    }
}

/// torch's `nn.Softplus()` (beta 1, threshold 20), which normalize_last also divides by.
let torchSoftplus = Activation.softplus(beta: 1, threshold: 20)
