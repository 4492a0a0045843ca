import FlyvisNetwork
import FlyvisTask
import Foundation

/// A parameter penalty (node_config/edge_config `penalize.function`).
package struct ParameterPenalty: Sendable, Equatable {
    package enum Function: String, Sendable { case weight_decay, prior }
    package var parameter: ParameterName
    package var function: Function
    package var lambda: Double
    /// For `prior`: the value the parameter is pulled towards (its configured initial value).
    package var prior: Double

    package init(parameter: ParameterName, function: Function, lambda: Double, prior: Double = 0) {
        self.parameter = parameter
        self.function = function
        self.lambda = lambda
        self.prior = prior
    }

    /// λ·Σ w² or λ·Σ (w − prior)², and its gradient.
    package func evaluate(_ w: [Float]) -> (penalty: Double, gradient: [Float]) {
        let c = Float(function == .prior ? prior : 0), l = Float(lambda)
        var total = 0.0
        let g = w.map { x -> Float in
            let d = x - c
            total += Double(d * d)
            return 2 * l * d
        }
        return (Double(l) * total, g)
    }
}
