import FlyvisTask
import Foundation

/// Per-parameter Adam moments, as torch keeps them (step, exp_avg, exp_avg_sq).
package struct AdamMoments: Sendable, Equatable {
    package var step: Int
    package var expAvg: [Float]
    package var expAvgSq: [Float]

    package init(step: Int, expAvg: [Float], expAvgSq: [Float]) {
        self.step = step
        self.expAvg = expAvg
        self.expAvgSq = expAvgSq
    }
}
