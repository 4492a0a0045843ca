import Foundation

/// One array in a checkpoint, in the element type it is stored with.
package enum CheckpointArray: Sendable, Equatable {
    case float([Float], shape: [Int])
    case double([Double], shape: [Int])
    case int64([Int64], shape: [Int])
    case uint8([UInt8], shape: [Int])

    package var shape: [Int] {
        switch self {
        case let .float(_, s), let .double(_, s), let .int64(_, s), let .uint8(_, s): return s
        }
    }

    package var count: Int {
        switch self {
        case let .float(v, _): return v.count
        case let .double(v, _): return v.count
        case let .int64(v, _): return v.count
        case let .uint8(v, _): return v.count
        }
    }

    package var dtypeName: String {
        switch self {
        case .float: return "float32"
        case .double: return "float64"
        case .int64: return "int64"
        case .uint8: return "uint8"
        }
    }

    package var floats: [Float]? { if case let .float(v, _) = self { return v } else { return nil } }
    package var doubles: [Double]? { if case let .double(v, _) = self { return v } else { return nil } }
    package var int64s: [Int64]? { if case let .int64(v, _) = self { return v } else { return nil } }
    package var bytes: [UInt8]? { if case let .uint8(v, _) = self { return v } else { return nil } }

    /// No NaN or infinity (integer arrays always).
    package var isFinite: Bool {
        switch self {
        case let .float(v, _): return v.allSatisfy(\.isFinite)
        case let .double(v, _): return v.allSatisfy(\.isFinite)
        case .int64, .uint8: return true
        }
    }

    /// The values as Float32, converting from any stored type (BatchNorm's counter is int64).
    package var asFloats: [Float] {
        switch self {
        case let .float(v, _): return v
        case let .double(v, _): return v.map(Float.init)
        case let .int64(v, _): return v.map(Float.init)
        case let .uint8(v, _): return v.map(Float.init)
        }
    }
}
