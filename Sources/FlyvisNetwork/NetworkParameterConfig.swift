import FlyvisConnectome
import FlyvisRandom
import Foundation

/// The five parameter configurations, with flyvis's defaults.
package struct NetworkParameterConfig: Sendable, Equatable {
    package var bias = ParameterConfig(
        initial: .normal(mean: 0.5, std: 0.05, seed: 0), requiresGrad: true,
        groupby: ["type"])
    package var timeConst = ParameterConfig(initial: .value(0.05), requiresGrad: true, groupby: ["type"])
    package var sign = ParameterConfig(
        initial: .value(1), requiresGrad: false,
        groupby: ["source_type", "target_type"])
    package var synCount = ParameterConfig(
        initial: .lognormalMean, requiresGrad: false,
        groupby: ["source_type", "target_type", "dv", "du"])
    package var synStrength = ParameterConfig(
        initial: .value(0), requiresGrad: true, clamp: .nonNegative,
        groupby: ["source_type", "target_type"], scale: 0.01)
    package init() {}
}
