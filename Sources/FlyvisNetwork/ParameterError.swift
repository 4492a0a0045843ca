import FlyvisConnectome
import FlyvisRandom
import Foundation

/// Invalid network parameter configuration or keys.
package enum ParameterError: Error, CustomStringConvertible, Equatable {
    case unsupportedGroupby(parameter: String, groupby: [String], allowed: [String])
    case invalidDistribution(parameter: String, problem: String)
    case unknownKey(parameter: String, key: String)
    case shapeMismatch(parameter: String, expected: Int, found: Int)
    case unknownParameter(String)

    package var description: String {
        switch self {
        case let .unknownParameter(name):
            return "'\(name)' is not a network parameter; the parameters are \(ParameterName.names.joined(separator: ", "))"
        case let .unsupportedGroupby(p, g, allowed):
            return "network parameter '\(p)': groupby \(g) is not supported; use \(allowed)"
        case let .invalidDistribution(p, problem):
            return "network parameter '\(p)': \(problem)"
        case let .unknownKey(p, key):
            return "network parameter '\(p)' has no entry '\(key)'"
        case let .shapeMismatch(p, expected, found):
            return "network parameter '\(p)' expects \(expected) values, got \(found)"
        }
    }
}
