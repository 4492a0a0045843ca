import FlyvisTask
import Foundation

/// Adam with PyTorch's semantics (torch.optim.Adam, single-tensor path): exp_avg by lerp,
/// bias corrections in double precision, eps added after dividing √v by √(1−β2^t), step size
/// lr/(1−β1^t). Parameter groups carry their own learning rates; a parameter only gets state
/// once it has received a gradient, so parameters with requires_grad false are never touched.
package struct Adam<Key: Hashable & Sendable>: Sendable, Equatable {
    package var learningRates: [Double]
    package var beta1: Double, beta2: Double, eps: Double, weightDecay: Double
    /// Parameters per group, in torch's id order (group 0 ids first).
    package let groups: [[Key]]
    package private(set) var state: [Key: AdamMoments] = [:]

    package init(
        groups: [[Key]], learningRates: [Double], beta1: Double = 0.9, beta2: Double = 0.999,
        eps: Double = 1e-8, weightDecay: Double = 0
    ) {
        precondition(groups.count == learningRates.count)
        self.groups = groups
        self.learningRates = learningRates
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }

    /// torch's parameter id of a name (its position across groups).
    package func id(of name: Key) -> Int? { Array(groups.joined()).firstIndex(of: name) }

    package func group(of name: Key) -> Int? { groups.firstIndex { $0.contains(name) } }

    /// One update of `param` with gradient `grad` (same length). Keys are typed, so only a
    /// parameter the optimizer was built with can reach this.
    package mutating func step(_ name: Key, _ param: inout [Float], _ grad: [Float]) {
        guard let g = group(of: name) else { preconditionFailure("parameter \(name) is in no optimizer group") }
        precondition(param.count == grad.count)
        var s =
            state[name]
            ?? AdamMoments(
                step: 0, expAvg: [Float](repeating: 0, count: param.count),
                expAvgSq: [Float](repeating: 0, count: param.count))
        s.step += 1
        let lr = learningRates[g]
        let b2 = Float(beta2)
        let oneMinusB1 = Float(1 - beta1), oneMinusB2 = Float(1 - beta2)
        let bc1 = 1 - Foundation.pow(beta1, Double(s.step))
        let bc2 = 1 - Foundation.pow(beta2, Double(s.step))
        let stepSize = Float(lr / bc1)
        let bc2Sqrt = Float(bc2.squareRoot())
        let epsF = Float(eps), wd = Float(weightDecay)
        for i in param.indices {
            var gi = grad[i]
            if wd != 0 { gi += wd * param[i] }
            // torch: exp_avg.lerp_(grad, 1 − β1), which for weight < 0.5 is m + w·(g − m).
            s.expAvg[i] = s.expAvg[i] + oneMinusB1 * (gi - s.expAvg[i])
            s.expAvgSq[i] = s.expAvgSq[i] * b2 + oneMinusB2 * gi * gi
            let denom = s.expAvgSq[i].squareRoot() / bc2Sqrt + epsF
            param[i] = param[i] - stepSize * (s.expAvg[i] / denom)
        }
        state[name] = s
    }

    /// Forgets all moments (a fresh optimizer).
    package mutating func resetState() { state = [:] }

    /// Restores moments (from a checkpoint).
    package mutating func setState(_ name: Key, _ moments: AdamMoments) { state[name] = moments }
}
