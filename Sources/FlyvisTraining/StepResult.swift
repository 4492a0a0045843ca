import FlyvisBase
import FlyvisConnectome
import FlyvisNetwork
import FlyvisTask
import Foundation

/// What one iteration reports (flyvis logs these per iteration).
package struct StepResult: Sendable, Equatable {
    package var loss: Double
    package var taskLosses: [String: Double]
    package var activityMean: Double
    package var activityMin: Double
    package var activityMax: Double
    package var penalty: Double?
}
