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
    package func evaluate(
        batch B: Int, frames T: Int, types K: Int,
        central: (Int, Int, Int) -> Float
    ) -> (penalty: Double, gradient: [Float]) {
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
