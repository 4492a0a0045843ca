import Foundation

/// A configuration value the training step cannot use.
package enum TrainingConfigError: Error, CustomStringConvertible, Equatable {
    case invalidValue(key: String, value: String, allowed: String)
    case missing(key: String, why: String)

    package var description: String {
        switch self {
        case let .invalidValue(key, value, allowed): return "\(key): '\(value)' is not allowed; use one of: \(allowed)"
        case let .missing(key, why): return "\(key) is required: \(why)"
        }
    }
}
