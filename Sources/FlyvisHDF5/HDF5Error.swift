import CFlyvisShim
import CHDF5
import FlyvisBase
import FlyvisMPI

#if canImport(Glibc)
import Glibc
#endif

/// An HDF5 failure as one readable message that names the file and the object, with the
/// library's own error stack folded in (HDF5's printing to stderr is switched off).
package enum HDF5Error: Error, CustomStringConvertible, Equatable {
    case library(operation: String, file: String, object: String, details: String)
    case fileNotFound(file: String)
    case notHDF5(file: String)
    /// A directory, FIFO or device where a file was expected.
    case notARegularFile(file: String)
    case objectNotFound(file: String, object: String)
    case shapeMismatch(file: String, object: String, expected: [Int], found: [Int])
    case typeMismatch(file: String, object: String, expected: String, found: String)
    case invalidArgument(String)
    case parallelUnavailable
    /// The device (or the user's quota) is full: one line, no library stack.
    case noSpace(file: String, quota: Bool)
    /// Writing the finished file to disk failed for another reason.
    case io(file: String, reason: String)

    package var description: String {
        switch self {
        case let .library(operation, file, object, details):
            let what = object.isEmpty ? "" : " object '\(object)'"
            return "HDF5 \(operation) failed on file '\(file)'\(what): \(details)"
        case let .fileNotFound(file):
            return "HDF5 file '\(file)' does not exist; check the path"
        case let .notARegularFile(file):
            return "'\(file)' is not a regular file (a directory, FIFO or device); pass an HDF5 file"
        case let .notHDF5(file):
            return "'\(file)' is not a readable HDF5 file (truncated or corrupted?); restore or regenerate it"
        case let .objectNotFound(file, object):
            return "HDF5 file '\(file)' has no object '\(object)'"
        case let .shapeMismatch(file, object, expected, found):
            return "HDF5 '\(file)':'\(object)' has shape \(found), expected \(expected)"
        case let .typeMismatch(file, object, expected, found):
            return "HDF5 '\(file)':'\(object)' holds \(found) data, expected \(expected)"
        case let .invalidArgument(why):
            return "invalid HDF5 request: \(why)"
        case .parallelUnavailable:
            return "this HDF5 library was built without MPI-IO support; install libhdf5-openmpi-dev"
        case let .noSpace(file, quota):
            return (quota ? "disk quota exceeded" : "no space left on device")
                + " while writing '\(file)'; free space and rerun with resume=true"
        case let .io(file, reason):
            return "cannot write '\(file)': \(reason)"
        }
    }
}

extension HDF5Error: FullDiskReporting {
    package var fullDiskQuota: Bool? {
        if case let .noSpace(_, quota) = self { return quota }
        return nil
    }
}
