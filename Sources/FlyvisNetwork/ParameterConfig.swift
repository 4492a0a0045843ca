import FlyvisConnectome
import FlyvisRandom
import Foundation

/// Configuration of one parameter (flyvis `node_config.*` / `edge_config.*`).
package struct ParameterConfig: Sendable, Equatable {
    package var initial: InitialDistribution
    package var requiresGrad: Bool
    package var clamp: Clamp
    package var groupby: [String]
    /// `SynapseCountScaling.scale`: strength = scale / mean synapse count of the edge type.
    package var scale: Double?

    package init(
        initial: InitialDistribution, requiresGrad: Bool, clamp: Clamp = .none,
        groupby: [String], scale: Double? = nil
    ) {
        self.initial = initial
        self.requiresGrad = requiresGrad
        self.clamp = clamp
        self.groupby = groupby
        self.scale = scale
    }
}
