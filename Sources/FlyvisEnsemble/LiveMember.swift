import FlyvisHDF5
import FlyvisReport
import FlyvisResults
import Foundation

/// What rank 0's status table knows about a member while the job runs.
package struct LiveMember: Sendable, Equatable {
    package var state: MemberReport.State
    package var rank: Int?
    package var iteration: Int
    package var totalIterations: Int?
    package var iterationsPerSecond: Double?
    package var error: String?

    package init(
        state: MemberReport.State, rank: Int? = nil, iteration: Int = 0, totalIterations: Int? = nil,
        iterationsPerSecond: Double? = nil, error: String? = nil
    ) {
        self.state = state
        self.rank = rank
        self.iteration = iteration
        self.totalIterations = totalIterations
        self.iterationsPerSecond = iterationsPerSecond
        self.error = error
    }
}
