import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Why a path could not be read as a file.
package enum RegularFileError: Error, Equatable, CustomStringConvertible {
    case notRegular(path: String, kind: String)
    case tooLarge(path: String, bytes: Int64, limit: Int64)
    case io(path: String, reason: String)

    package var description: String {
        switch self {
        case let .notRegular(path, kind):
            return "'\(path)' is \(kind), not a regular file"
        case let .tooLarge(path, bytes, limit):
            return "'\(path)' holds \(bytes) bytes, more than half of this machine's memory (\(limit) bytes may be read)"
        case let .io(path, reason):
            return "cannot read '\(path)': \(reason)"
        }
    }
}
