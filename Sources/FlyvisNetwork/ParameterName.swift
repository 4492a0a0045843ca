import FlyvisConnectome
import FlyvisRandom
import Foundation

/// The five network parameters under their state-dict names, in flyvis's `state_dict()` order.
/// Configs, checkpoints, optimizers and penalties name parameters only through this type, so a
/// misspelt name is a config error with the valid names, never a lookup that fails later.
package enum ParameterName: String, CaseIterable, Sendable, CustomStringConvertible {
    case bias = "nodes_bias", timeConst = "nodes_time_const", sign = "edges_sign"
    case synCount = "edges_syn_count", synStrength = "edges_syn_strength"

    /// Parses a state-dict name; the error lists the names that exist.
    package init(checking name: String) throws(ParameterError) {
        guard let p = ParameterName(rawValue: name) else { throw .unknownParameter(name) }
        self = p
    }

    package var description: String { rawValue }
    /// The state-dict names in order.
    package static let names = allCases.map(\.rawValue)
}
