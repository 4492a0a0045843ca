import FlyvisHDF5
import FlyvisMPI
import FlyvisResults
import Foundation
import Synchronization

/// How the whole job ended, as an exit status.
package enum EnsembleExit: Int32, Sendable {
    case success = 0
    case memberFailed = 1
    /// EX_TEMPFAIL: stopped by a signal after checkpointing; requeue with resume.
    case interrupted = 75
}
