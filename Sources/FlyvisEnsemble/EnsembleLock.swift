import FlyvisResults
import Foundation

/// One job per ensemble: rank 0 holds an exclusive `flock` on `<ens>/.flyvis-ensemble.lock`
/// from start-up until the summary is written. Two jobs on one ensemble would hand out the
/// same pending members and rewrite each other's status table and summary; the second one
/// therefore fails at once, before it writes anything, naming the holder's host and PID. The
/// kernel releases the lock when the holder exits or is killed, so it is never stale. The
/// member locks stay: they also keep out a `train-single` on a member.
package final class EnsembleLock {
    private let lock: MemberLock?

    /// Takes the lock or fails at once; on a file system without `flock` it warns through
    /// `warn` and runs unlocked, as member locks do.
    package init(ensembleDirectory: ResultsDirectory, warn: (String) -> Void) throws(EnsembleLockError) {
        let path = ensembleDirectory.url.appendingPathComponent(ResultsSchema.ensembleLock).path
        do {
            lock = try MemberLock(directory: ensembleDirectory.url, fileName: ResultsSchema.ensembleLock)
        } catch {
            switch error {
            case let .held(_, holder):
                throw .held(directory: ensembleDirectory.path, holder: holder)
            case .unsupported:
                warn("\(error)")
                lock = nil
            case let .io(_, reason):
                throw .io(path: path, reason: reason)
            }
        }
    }

    private init() { lock = nil }

    /// What ranks other than 0 hold: nothing (rank 0 holds the job's lock).
    package static var none: EnsembleLock { EnsembleLock() }

    package func release() { lock?.release() }
}
