import FlyvisNetwork
import FlyvisTask
import Foundation

/// flyvis's activity penalty (penalizer.activity_penalty): pushes the temporal mean activity of
/// each type's central cell, over frames ≥ n_frames/4, towards a baseline, with asymmetric
/// weights below and above it.
package struct ActivityPenalty: Sendable, Equatable {
    package var weight: Double
    package var baseline: Double
    package var stopIter: Int?
    package var belowBaselineWeight: Double
    package var aboveBaselineWeight: Double

    package init(weight: Double, baseline: Double, stopIter: Int?, belowBaselineWeight: Double, aboveBaselineWeight: Double) {
        self.weight = weight
        self.baseline = baseline
        self.stopIter = stopIter
        self.belowBaselineWeight = belowBaselineWeight
        self.aboveBaselineWeight = aboveBaselineWeight
    }

    package func isActive(at iteration: Int) -> Bool { stopIter.map { iteration < $0 } ?? true }

    /// Penalty and its gradient with respect to central activity.
    /// `central(b, t, k)` reads the activity of type k's central cell; the gradient is
    /// returned as a closure over (b, t, k), zero for frames before n_frames/4.
    package func evaluate(batch B: Int, frames T: Int, types K: Int,
                         central: (Int, Int, Int) -> Float) -> (penalty: Double, gradient: [Float]) {
        let first = T / 4
        let span = Float(T - first)
        var grad = [Float](repeating: 0, count: B * T * K)
        var total = 0.0
        let below = Float(belowBaselineWeight), above = Float(aboveBaselineWeight)
        let w = Float(weight), base = Float(baseline)
        let n = Float(B * K)
        for b in 0..<B {
            for k in 0..<K {
                var sum: Float = 0
                for t in first..<T { sum += central(b, t, k) }
                let mean = sum / span
                let x = base - mean
                // asymmetric_weighting: below·relu(x) − above·relu(−x)
                let a = below * max(x, 0) - above * max(-x, 0)
                total += Double(a * a)
                let da: Float = x > 0 ? below : (x < 0 ? above : 0)
                // ∂/∂mean of w·mean(a²) = w · 2a · da · (−1) / n; ∂mean/∂v = 1/span.
                let g = w * 2 * a * da * -1 / n / span
                for t in first..<T { grad[(b * T + t) * K + k] = g }
            }
        }
        return (Double(w) * total / Double(n), grad)
    }
}

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

/// The penalizer: the activity penalty on the bias and any parameter penalties, each with its
/// own SGD whose learning rate is scheduled (lr_pen).
package struct Penalizer: Sendable, Equatable {
    package var activity: ActivityPenalty?
    /// Parameters that take the activity penalty (flyvis: `penalize.activity: true`).
    package var activityParameters: [ParameterName]
    package var parameterPenalties: [ParameterPenalty]
    package var activityOptimizer: SGD<ParameterName>
    package var parameterOptimizer: SGD<ParameterName>?
    /// Set once the activity penalty has passed its stop iteration (flyvis drops the optimizer).
    package private(set) var activityStopped = false

    package init(activity: ActivityPenalty?, activityParameters: [ParameterName], parameterPenalties: [ParameterPenalty],
                learningRate: Double = 1e-3) throws(TrainingConfigError) {
        if !activityParameters.isEmpty {
            guard let a = activity,
                  [a.weight, a.baseline, a.belowBaselineWeight, a.aboveBaselineWeight].contains(where: { $0 != 0 }) else {
                throw .missing(key: "penalizer.activity_penalty",
                               why: "a parameter is configured with penalize.activity: true but no activity penalty values (activity_penalty, activity_baseline, below/above_baseline_penalty_weight) are set")
            }
            for p in activityParameters where p != .bias {
                throw .invalidValue(key: "network.node_config/edge_config.\(p).penalize.activity", value: "true",
                                    allowed: "only nodes_bias (the resting potential) takes the activity penalty")
            }
        }
        self.activity = activityParameters.isEmpty ? nil : activity
        self.activityParameters = activityParameters
        // flyvis only creates the parameter optimizer when some penalty has a non-zero lambda.
        self.parameterPenalties = parameterPenalties.filter { $0.lambda != 0 }
        activityOptimizer = SGD(learningRate: learningRate)
        parameterOptimizer = self.parameterPenalties.isEmpty ? nil : SGD(learningRate: learningRate)
    }

    package var learningRate: Double {
        get { activityOptimizer.learningRate }
        set {
            activityOptimizer.learningRate = newValue
            parameterOptimizer?.learningRate = newValue
        }
    }

    /// Whether the activity lane is needed for this iteration (and records when it stops).
    package mutating func activityActive(at iteration: Int) -> Bool {
        guard let a = activity, !activityStopped else { return false }
        if !a.isActive(at: iteration) { activityStopped = true; return false }
        return true
    }
}
