import FlyvisHex

/// A configuration value as flyvis stores it: a number, a list of numbers (also tuples such as
/// offsets), or a string. Booleans are numbers 0 and 1, as in flyvis's files.
package enum StimulusParameterValue: Sendable, Equatable, CustomStringConvertible {
    case number(Double)
    case numbers([Double])
    case string(String)

    package var description: String {
        switch self {
        case let .number(x): return "\(x)"
        case let .numbers(xs): return "[" + xs.map { "\($0)" }.joined(separator: ", ") + "]"
        case let .string(s): return s
        }
    }
}
