import FlyvisConnectome
import FlyvisRandom
import Foundation

/// How a parameter's initial values are drawn.
package enum InitialDistribution: Sendable, Equatable {
    /// One constant (flyvis `Value`); `scale` parameters derive it from the connectome instead.
    case value(Double)
    /// flyvis `Normal` with `mode: sample`, seeded.
    case normal(mean: Double, std: Double, seed: Int)
    /// flyvis `Lognormal` with `mode: mean`: the natural log of the group's mean value.
    case lognormalMean
}
