import FlyvisNetwork
import FlyvisTask
import Foundation

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

    package init(
        activity: ActivityPenalty?, activityParameters: [ParameterName], parameterPenalties: [ParameterPenalty],
        learningRate: Double = 1e-3
    ) throws(TrainingConfigError) {
        if !activityParameters.isEmpty {
            guard let a = activity,
                [a.weight, a.baseline, a.belowBaselineWeight, a.aboveBaselineWeight].contains(where: { $0 != 0 })
            else {
                throw .missing(
                    key: "penalizer.activity_penalty",
                    why:
                        "a parameter is configured with penalize.activity: true but no activity penalty values (activity_penalty, activity_baseline, below/above_baseline_penalty_weight) are set"
                )
            }
            for p in activityParameters where p != .bias {
                throw .invalidValue(
                    key: "network.node_config/edge_config.\(p).penalize.activity", value: "true",
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
