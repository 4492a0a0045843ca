import FlyvisConnectome
import FlyvisRandom
import Foundation

/// Projection applied after optimizer steps and before every forward.
package enum Clamp: Sendable, Equatable {
    case none
    case nonNegative
    case range(Double, Double)
}
