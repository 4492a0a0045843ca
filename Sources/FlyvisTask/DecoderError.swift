import FlyvisBase
import FlyvisHex
import FlyvisNetwork
import FlyvisRandom
import Foundation

/// Invalid decoder configuration or input.
package enum DecoderError: Error, CustomStringConvertible, Equatable {
    /// A bad value of `task.decoder.<task>.<key>`.
    case invalidConfig(task: String, key: String, problem: String)
    case inputShape(expected: [Int], found: Int)

    package var description: String {
        switch self {
        case let .invalidConfig(task, key, problem): return "task.decoder.\(task).\(key): \(problem)"
        case let .inputShape(expected, found): return "decoder input has \(found) values, expected \(expected)"
        }
    }
}
