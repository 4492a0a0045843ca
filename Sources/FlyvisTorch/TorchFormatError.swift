import Foundation
import ZIPFoundation

/// Why a file could not be read or written as a torch checkpoint; every case names the file.
package enum TorchFormatError: Error, Equatable, CustomStringConvertible {
    case notAZipArchive(path: String, reason: String)
    case missingRecord(path: String, record: String)
    case damagedRecord(path: String, record: String, reason: String)
    case pickle(path: String, PickleError)
    case unsupported(path: String, reason: String)
    case io(path: String, reason: String)

    package var description: String {
        switch self {
        case let .notAZipArchive(path, reason):
            return "'\(path)' is not a torch checkpoint (torch zip format): \(reason); it may be truncated or from an incomplete copy"
        case let .missingRecord(path, record):
            return "'\(path)' has no '\(record)' record; it is not a complete torch checkpoint"
        case let .damagedRecord(path, record, reason):
            return "'\(path)' is damaged: record '\(record)' \(reason)"
        case let .pickle(path, e): return "'\(path)': \(e)"
        case let .unsupported(path, reason): return "'\(path)': \(reason)"
        case let .io(path, reason): return "cannot write '\(path)': \(reason)"
        }
    }
}
