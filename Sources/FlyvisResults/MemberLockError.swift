import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Why a member directory could not be locked.
package enum MemberLockError: Error, CustomStringConvertible, Equatable {
    /// Another live process holds the lock; `holder` is what it wrote into the lock file.
    case held(directory: String, holder: String)
    /// The file system refuses `flock` (e.g. Lustre mounted without `-o flock`).
    case unsupported(path: String, reason: String)
    case io(path: String, reason: String)

    package var description: String {
        switch self {
        case let .held(directory, holder):
            return
                "'\(directory)' is in use by another run (\(holder)); wait for it to finish or stop it (a SLURM requeue must not start while the old job still runs)"
        case let .unsupported(path, reason):
            return
                "cannot lock '\(path)': \(reason); this file system does not support flock (on Lustre mount with -o flock), so concurrent runs on this member are not detected"
        case let .io(path, reason):
            return "cannot open the lock file '\(path)': \(reason)"
        }
    }
}
