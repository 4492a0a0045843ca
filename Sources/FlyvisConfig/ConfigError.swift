import Foundation
import Yams

/// Configuration problems, each naming the key and what is allowed.
package enum ConfigError: Error, CustomStringConvertible, Equatable {
    case unknownKey(key: String, hint: String)
    case keyExists(key: String)
    case wrongType(key: String, expected: String, found: String)
    case outOfRange(key: String, value: String, allowed: String)
    case missingValue(key: String)
    case badOverride(String, why: String)
    case interpolation(key: String, problem: String)
    case yaml(file: String, problem: String)
    case unknownGroupOption(group: String, option: String, searched: [String])

    package var description: String {
        switch self {
        case let .unknownKey(key, hint): return "unknown config key '\(key)'\(hint.isEmpty ? "" : "; \(hint)")"
        case let .keyExists(key): return "config key '\(key)' already exists; use \(key)=value (or ++\(key)=value) to change it"
        case let .wrongType(key, expected, found): return "config key '\(key)' must be \(expected), got \(found)"
        case let .outOfRange(key, value, allowed): return "config key '\(key)' = \(value) is not allowed; allowed: \(allowed)"
        case let .missingValue(key): return "config key '\(key)' is required (it is ???); pass \(key)=..."
        case let .badOverride(text, why): return "cannot parse override '\(text)': \(why)"
        case let .interpolation(key, problem): return "cannot resolve ${...} in '\(key)': \(problem)"
        case let .yaml(file, problem): return "invalid YAML in '\(file)': \(problem)"
        case let .unknownGroupOption(group, option, searched):
            return "no config '\(option)' for group '\(group)'; looked in \(searched.joined(separator: ", "))"
        }
    }
}
