import FlyvisBase
import FlyvisConnectome
import Foundation

/// Gradients of a scalar loss with respect to the trainable parameters, in flyvis's group
/// orders; `penaltyBias` is the bias gradient of the second (activity-penalty) cotangent.
package struct NetworkGradients: Sendable, Equatable {
    package var bias: [Double]
    package var timeConst: [Double]
    package var synStrength: [Double]
    package var penaltyBias: [Double]?
}
