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

/// What the solver reports while it trains, and how it is asked to stop: one set of hooks for
/// train-single, the ensemble's member lifecycle and tests.
package struct TrainingHooks {
    /// Once the member's run is accepted (directory locked, config matching the stored one):
    /// the iteration it starts from and task.n_iters.
    package var started: (_ iteration: Int, _ totalIterations: Int) -> Void = { _, _ in }
    package var afterIteration: () -> Void = {}
    /// With each progress line between checkpoints (at least every 30 s): iteration and it/s.
    package var progress: (_ iteration: Int, _ iterationsPerSecond: Double) -> Void = { _, _ in }
    package var afterCheckpoint:
        (_ index: Int, _ iteration: Int, _ valLoss: Double, _ best: Double, _ iterationsPerSecond: Double) -> Void = { _, _, _, _, _ in }
    package var stopRequested: () -> Bool = { false }
    package init() {}
}
