import Foundation

/// A write that failed, naming the file the caller meant (never a temporary name). A full
/// device or quota is its own case, because the fix is to free space and resume.
package enum FileWriteError: Error, CustomStringConvertible, Equatable {
    case io(path: String, reason: String)
    /// The device or the quota is full while writing `path` (the file keeps its old content).
    case noSpace(path: String, quota: Bool)

    package var description: String {
        switch self {
        case let .io(path, reason):
            return "cannot write '\(path)': \(reason)"
        case let .noSpace(path, quota):
            return (quota ? "disk quota exceeded" : "no space left on device")
                + " while writing '\(path)'; free space and rerun with resume=true"
        }
    }

    /// The error for a failed POSIX call on `path`.
    package static func posix(_ code: Int32, path: String) -> FileWriteError {
        if code == ENOSPC || code == EDQUOT { return .noSpace(path: path, quota: code == EDQUOT) }
        return .io(path: path, reason: String(cString: strerror(code)))
    }
}
