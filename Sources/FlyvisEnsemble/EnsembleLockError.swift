import FlyvisResults
import Foundation

/// Why an ensemble job could not start.
package enum EnsembleLockError: Error, CustomStringConvertible, Equatable {
    /// Another live job holds the ensemble; `holder` names its host and PID.
    case held(directory: String, holder: String)
    case io(path: String, reason: String)

    package var description: String {
        switch self {
        case let .held(directory, holder):
            return "the ensemble '\(directory)' is being trained by another job (\(holder)); one job per ensemble: "
                + "wait for it to finish or stop it, then rerun this command (it continues where that job stopped)"
        case let .io(path, reason):
            return "cannot lock the ensemble: \(path): \(reason)"
        }
    }
}
