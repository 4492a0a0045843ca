import Foundation

/// A torch optimizer `state_dict()`: parameter groups (hyper-parameters and the parameter ids
/// they own) and per-parameter state. Adam's state is `step`, `exp_avg`, `exp_avg_sq`; SGD
/// without momentum has none.
package struct OptimizerState: Sendable, Equatable {
    package struct Group: Sendable, Equatable {
        package var lr: Double
        package var params: [Int]
        package var betas: [Double]
        package var eps: Double
        package var weightDecay: Double
        package init(lr: Double, params: [Int], betas: [Double] = [0.9, 0.999], eps: Double = 1e-8, weightDecay: Double = 0) {
            self.lr = lr
            self.params = params
            self.betas = betas
            self.eps = eps
            self.weightDecay = weightDecay
        }
    }

    package struct AdamEntry: Sendable, Equatable {
        package var step: Double
        package var expAvg: CheckpointArray
        package var expAvgSq: CheckpointArray
        package init(step: Double, expAvg: CheckpointArray, expAvgSq: CheckpointArray) {
            self.step = step
            self.expAvg = expAvg
            self.expAvgSq = expAvgSq
        }
    }

    package enum Kind: String, Sendable { case adam, sgd }

    package var kind: Kind
    package var groups: [Group]
    /// Keyed by torch's parameter id (position across all groups).
    package var state: [Int: AdamEntry]

    package init(kind: Kind, groups: [Group], state: [Int: AdamEntry] = [:]) {
        self.kind = kind
        self.groups = groups
        self.state = state
    }
}
