import FlyvisResults
import Foundation

extension MultiTaskSolver {
    /// `checkpoint` as one all-or-nothing step: if any of its writes fails (a full disk), every
    /// history and the checkpoint folder are rolled back to their state before it, so
    /// `chkpt_index`, `validation/loss` and the checkpoint files keep matching (see
    /// `ResultsSnapshot`). The error is rethrown unchanged.
    func checkpointAllOrNothing(hooks: SolverHooks, rate: Double = 0) throws {
        try ResultsSnapshot.transaction(in: directory.url) { try checkpoint(hooks: hooks, rate: rate) }
    }
}
