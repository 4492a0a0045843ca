import FlyvisHDF5
import FlyvisMPI
import FlyvisResults
import Foundation
import Synchronization

/// Settings of one ensemble run.
package struct EnsembleRun: Sendable {
    package var ensembleID: Int
    package var taskName: String
    package var members: Range<Int>
    /// `<root>/results/<task>/<EEEE>`.
    package var ensembleDirectory: ResultsDirectory
    package var topK: Int?
    package var statusInterval: TimeInterval
    /// At most this often, progress between checkpoints updates the status file and report.
    package var progressInterval: TimeInterval = 30
    /// Failed members are skipped on resume unless retried explicitly: a NaN divergence is
    /// deterministic, so retrying would waste cluster time.
    package var retryFailed: Bool

    package init(
        ensembleID: Int, taskName: String, members: Range<Int>, ensembleDirectory: ResultsDirectory,
        topK: Int? = nil, statusInterval: TimeInterval = 60, retryFailed: Bool = false
    ) {
        self.ensembleID = ensembleID
        self.taskName = taskName
        self.members = members
        self.ensembleDirectory = ensembleDirectory
        self.topK = topK
        self.statusInterval = statusInterval
        self.retryFailed = retryFailed
    }

    package func directory(_ member: Int) -> ResultsDirectory {
        ensembleDirectory.member(member)
    }
}
