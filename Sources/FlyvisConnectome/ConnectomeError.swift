import FlyvisHex
import Foundation

/// Problems with a connectome file, each naming the record and what to fix.
package enum ConnectomeError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, record: String, problem: String)
    case invalidExtent(Int)

    package var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read connectome file '\(path)': \(reason)"
        case let .malformed(path, record, problem):
            return "malformed connectome file '\(path)', \(record): \(problem); fix the record or use the bundled fib25-fib19_v2.2.json"
        case let .invalidExtent(e):
            return
                "connectome extent must be between \(HexLattice.networkExtents.lowerBound) and \(HexLattice.networkExtents.upperBound) (got \(e)); flyvis uses 15"
        }
    }
}
