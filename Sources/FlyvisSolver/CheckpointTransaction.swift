import FlyvisResults
import Foundation

extension MultiTaskSolver {
    /// A checkpoint (validation, the checkpoint file, the bookkeeping) as one all-or-nothing
    /// step, for training and for `checkpoint_only=true` alike: if any write fails (a full disk), every
    /// history and the checkpoint folder are rolled back to their state before it, so
    /// `chkpt_index`, `validation/loss` and the checkpoint files keep matching (see
    /// `ResultsSnapshot`). The error is rethrown unchanged.
    package func checkpoint(hooks: TrainingHooks = TrainingHooks(), rate: Double = 0) throws {
        try ResultsSnapshot.transaction(in: directory.url) { try writeCheckpoint(hooks: hooks, rate: rate) }
    }
}
