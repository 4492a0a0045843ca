import Foundation

/// Everything a checkpoint holds, in the structure flyvis's `MultiTaskSolver.checkpoint()`
/// writes (`network`, `decoder`, `optim`, `time`, `val_loss`, `iteration`, `dt`,
/// `activity_optim`), plus our `ResumeState`.
package struct Checkpoint: Sendable, Equatable {
    package var network = StateDict()
    /// `{task: state dict}`, written in task order.
    package var decoder: [String: StateDict] = [:]
    package var optim: OptimizerState?
    package var activityOptim: OptimizerState?
    package var time = ""
    package var valLoss = Double.nan
    /// flyvis's convention: the solver's iteration − 1 at save time (−1 for the untrained state).
    package var iteration = -1
    package var dt = 0.02
    package var resume: ResumeState?

    package init() {}
}
