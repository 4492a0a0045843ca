import Foundation

/// One member as the report sees it.
package struct MemberReport: Sendable, Equatable {
    package enum State: String, Sendable, CaseIterable {
        case running, finished, failed, interrupted, pending
        /// No status file and an incomplete history (e.g. a flyvis run stopped early).
        case unknown
    }

    package var member: Int
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
    package var error: String?
    package var failedAtIteration: Int?
    /// Files that could not be read, each with what to do about it.
    package var problems: [String]

    package init(member: Int, state: State, rank: Int? = nil, iteration: Int, totalIterations: Int? = nil,
                iterationsPerSecond: Double? = nil, timeTrained: Double? = nil, training: TrainingCurve = .empty,
                validationLoss: [Double] = [], checkpointIndices: [Int] = [], checkpointIterations: [Int] = [],
                error: String? = nil, failedAtIteration: Int? = nil, problems: [String] = []) {
        self.member = member
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
        self.error = error
        self.failedAtIteration = failedAtIteration
        self.problems = problems
    }

    /// "003", as in the member's directory name.
    package var name: String { String(format: "%03d", member) }

    /// Checkpoint index of validation entry `i` (flyvis's `chkpt_index`; the position if absent).
    package func checkpointIndex(at i: Int) -> Int { i < checkpointIndices.count ? checkpointIndices[i] : i }

    /// Position in `validationLoss` of the lowest finite loss (the first one on ties).
    package var bestPosition: Int? {
        var best: Int?
        for (i, l) in validationLoss.enumerated() where l.isFinite && (best == nil || l < validationLoss[best!]) { best = i }
        return best
    }

    package var bestCheckpoint: Int? { bestPosition.map(checkpointIndex(at:)) }
    package var minValidationLoss: Double? { bestPosition.map { validationLoss[$0] } }
}
