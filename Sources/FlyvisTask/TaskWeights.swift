import Foundation

/// flyvis's `Task.loss` weighting: weight[task] · loss / Σ weights, so that more tasks (depth,
/// luminance) can be added next to flow.
package struct TaskWeights: Sendable, Equatable {
    package let weights: [String: Double]
    package init(tasks: [String], weights: [String: Double]? = nil) {
        self.weights = weights ?? Dictionary(uniqueKeysWithValues: tasks.map { ($0, 1.0) })
    }
    package var sum: Double { weights.values.reduce(0, +) }
    package func factor(_ task: String) -> Double { (weights[task] ?? 0) / sum }
}
