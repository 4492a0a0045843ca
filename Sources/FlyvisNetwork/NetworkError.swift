import FlyvisConnectome
import Foundation

/// Bad simulation requests, each naming the problem and the fix.
package enum NetworkError: Error, CustomStringConvertible, Equatable {
    case invalidTimeStep(Double)
    case invalidDuration(name: String, value: Double)
    case stimulusShape(expected: [Int], found: [Int])
    case stateShape(expected: [Int], found: Int)
    case invalidBatch(Int)
    case tooManySteps(name: String, duration: Double, dt: Double, limit: Int)
    case unknownNodeSelection(String)
    case incompleteSynapseGroup(source: String, target: String, du: Int, dv: Int, edges: Int, expected: Int)

    package var description: String {
        switch self {
        case let .invalidTimeStep(dt):
            return "time step dt must be positive and finite (got \(dt)); flyvis uses 0.02 s"
        case let .invalidDuration(name, value):
            return "\(name) must be finite and non-negative (got \(value))"
        case let .stimulusShape(expected, found):
            return "stimulus has shape \(found), expected \(expected) = (batch, frames, 1, hexals)"
        case let .stateShape(expected, found):
            return "initial state has \(found) values, expected \(expected) = (batch, nodes)"
        case let .invalidBatch(b):
            return "batch size must be at least 1 (got \(b))"
        case let .tooManySteps(name, duration, dt, limit):
            return "\(name) = \(duration) s at dt = \(dt) s is more than \(limit) time steps; shorten it"
        case let .unknownNodeSelection(s):
            return "unknown node selection '\(s)': use central, all, or a comma-separated list of cell types"
        case let .incompleteSynapseGroup(source, target, du, dv, edges, expected):
            return "synapse group \(source) → \(target) at offset (\(du), \(dv)) has \(edges) edges, but \(expected) target cells "
                + "have an existing source at that offset; the engine needs every group applied at every such cell "
                + "(as flyvis's average-filter connectomes are). Check the connectome file's edges for this pair."
        }
    }
}
