import FlyvisBase
import FlyvisConnectome
import FlyvisNetwork
import FlyvisTask
import Foundation

/// A parameter Adam updates: one of the network's five, or a parameter of a task's decoder.
package enum TrainedParameter: Hashable, Sendable, CustomStringConvertible {
    case network(ParameterName)
    case decoder(task: String, name: String)

    package var description: String {
        switch self {
        case let .network(p): return p.rawValue
        case let .decoder(task, name): return "decoder/\(task)/\(name)"
        }
    }
}
