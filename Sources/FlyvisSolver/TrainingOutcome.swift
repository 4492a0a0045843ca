import FlyvisConfig
import FlyvisConnectome
import FlyvisData
import FlyvisHDF5
import FlyvisNetwork
import FlyvisRandom
import FlyvisResults
import FlyvisTask
import FlyvisTraining
import Foundation

/// How a member's training ended.
package enum TrainingOutcome: Sendable, Equatable {
    /// Reached task.n_iters (or was already there).
    case finished
    /// Stopped early on request (SIGTERM/SIGUSR1) after writing a checkpoint.
    case interrupted
    /// Not trained to task.n_iters by this run (train=false, e.g. checkpoint_only).
    case notTrained
}
