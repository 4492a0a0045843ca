import FlyvisHex
import Foundation

/// One (source type, target type, du, dv) group: every synapse in it shares one weight, so the
/// recurrent current is a shifted copy of the source type's hex map scaled by that weight.
package struct SynapseGroup: Sendable, Equatable {
    package let sourceType: Int
    package let targetType: Int
    package let du: Int
    package let dv: Int
    /// Synapse count of the offset (flyvis's n_syn).
    package let nSyn: Float
    /// Index of the (source, target) edge type: keys `edges_sign` and `edges_syn_strength`.
    package let edgeType: Int
    /// Number of edges (synapses between nodes) that survive the lattice boundary.
    package let edgeCount: Int
}
