import Foundation

/// One member as the report sees it.
package struct MemberReport: Sendable, Equatable {
    package enum State: String, Sendable, CaseIterable {
        case running, finished, failed, interrupted, pending
        /// No status file and an incomplete history (e.g. a flyvis run stopped early).
        case unknown
    }

    /// A member's best checkpoint and task error, chosen by the loader (flyvis's rule, in
    /// FlyvisResults): the page draws them, it does not choose them.
    package struct Best: Sendable, Equatable {
        package var checkpoint: Int
        package var taskError: Double
        /// The history it was chosen by, e.g. "validation/epe".
        package var metric: String

        package init(checkpoint: Int, taskError: Double, metric: String) {
            self.checkpoint = checkpoint
            self.taskError = taskError
            self.metric = metric
        }
    }

    package var member: Int
    /// The member's directory name ("003"), as the loader spells it.
    package var name: String
    package var state: State
    /// MPI rank training it (live job only).
    package var rank: Int?
    package var iteration: Int
    package var totalIterations: Int?
    package var iterationsPerSecond: Double?
    package var timeTrained: Double?
    package var training: TrainingCurve
    /// `validation/loss` per checkpoint, with the checkpoint indices and iterations they belong to.
    package var validationLoss: [Double]
    package var checkpointIndices: [Int]
    package var checkpointIterations: [Int]
    package var best: Best?
    package var error: String?
    package var failedAtIteration: Int?
    /// Files that could not be read, each with what to do about it.
    package var problems: [String]

    package init(
        member: Int, name: String, state: State, rank: Int? = nil, iteration: Int, totalIterations: Int? = nil,
        iterationsPerSecond: Double? = nil, timeTrained: Double? = nil, training: TrainingCurve = .empty,
        validationLoss: [Double] = [], checkpointIndices: [Int] = [], checkpointIterations: [Int] = [],
        best: Best? = nil, error: String? = nil, failedAtIteration: Int? = nil, problems: [String] = []
    ) {
        self.member = member
        self.name = name
        self.state = state
        self.rank = rank
        self.iteration = iteration
        self.totalIterations = totalIterations
        self.iterationsPerSecond = iterationsPerSecond
        self.timeTrained = timeTrained
        self.training = training
        self.validationLoss = validationLoss
        self.checkpointIndices = checkpointIndices
        self.checkpointIterations = checkpointIterations
        self.best = best
        self.error = error
        self.failedAtIteration = failedAtIteration
        self.problems = problems
    }

    /// Checkpoint index of validation entry `i` (flyvis's `chkpt_index`; the position if absent).
    package func checkpointIndex(at i: Int) -> Int { i < checkpointIndices.count ? checkpointIndices[i] : i }

    /// The entry of `validationLoss` that belongs to the best checkpoint, if it has one.
    package var bestPosition: Int? {
        guard let b = best else { return nil }
        return validationLoss.indices.first { checkpointIndex(at: $0) == b.checkpoint }
    }

    /// The task error, if the member has one that counts (finite).
    package var taskError: Double? { best.flatMap { $0.taskError.isFinite ? $0.taskError : nil } }
}
