import FlyvisRandom
import FlyvisSolver
import Foundation

/// What a training member reports to the coordinator at each checkpoint (and when it ends).
package struct ProgressReport: Codable, Sendable, Equatable {
    package typealias State = MemberState

    package var member: Int
    package var rank: Int
    package var state: State
    package var iteration: Int
    package var totalIterations: Int
    package var valLoss: Double?
    package var bestValLoss: Double?
    package var checkpointIndex: Int?
    package var iterationsPerSecond: Double?
    package var error: String?

    package init(
        member: Int, rank: Int, state: State, iteration: Int, totalIterations: Int,
        valLoss: Double? = nil, bestValLoss: Double? = nil, checkpointIndex: Int? = nil,
        iterationsPerSecond: Double? = nil, error: String? = nil
    ) {
        self.member = member
        self.rank = rank
        self.state = state
        self.iteration = iteration
        self.totalIterations = totalIterations
        self.valLoss = valLoss
        self.bestValLoss = bestValLoss
        self.checkpointIndex = checkpointIndex
        self.iterationsPerSecond = iterationsPerSecond
        self.error = error
    }
}
