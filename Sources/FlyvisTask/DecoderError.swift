import FlyvisBase
import FlyvisHex
import FlyvisNetwork
import FlyvisRandom
import Foundation

/// Invalid decoder configuration or input.
package enum DecoderError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(key: String, problem: String)
    case inputShape(expected: [Int], found: Int)

    package var description: String {
        switch self {
        case let .invalidConfig(key, problem): return "task.decoder.flow.\(key): \(problem)"
        case let .inputShape(expected, found): return "decoder input has \(found) values, expected \(expected)"
        }
    }
}
