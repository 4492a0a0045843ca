import FlyvisHDF5
import FlyvisResults
import Foundation

/// One row of the ensemble summary.
package struct MemberSummary: Equatable, Sendable {
    package var id: MemberID
    package var rank: Int
    package var state: MemberState
    package var error: String
    /// `validation/loss` per checkpoint (flyvis's in-training validation loss).
    package var valLoss: [Double]
    /// The best checkpoint by flyvis's rule (`BestCheckpoint`): its index, the task error and
    /// the metric it was chosen by. Nil while the member has no validation values.
    package var best: BestCheckpoint?
    package var iterations: Int
    package var timeTrained: Double
    /// Files of the member that exist but cannot be read, or why the member has no results.
    package var problems: [String] = []

    package init(
        id: MemberID, rank: Int, state: MemberState, error: String, valLoss: [Double], best: BestCheckpoint?,
        iterations: Int, timeTrained: Double, problems: [String] = []
    ) {
        self.id = id
        self.rank = rank
        self.state = state
        self.error = error
        self.valLoss = valLoss
        self.best = best
        self.iterations = iterations
        self.timeTrained = timeTrained
        self.problems = problems
    }

    /// The task error (the best checkpoint's value), NaN when there is none.
    package var taskError: Double { best?.value ?? .nan }
    /// The best checkpoint's index, -1 when there is none.
    package var bestCheckpoint: Int { best?.index ?? -1 }
    /// The lowest `validation/loss` (NaN when there is none), kept in the summary beside the
    /// task error.
    package var minValLoss: Double { valLoss.filter { !$0.isNaN }.min() ?? .nan }
    /// Whether the member takes part in the top k: a finite task error, not failed.
    package var isRankable: Bool { taskError.isFinite && state != .failed }

    /// Reads a member's results directory. Missing files give empty/NaN fields, so partially
    /// trained or failed members still get a row.
    package static func collect(
        _ dir: ResultsDirectory, id: MemberID, rank: Int = -1,
        status: MemberStatus? = nil
    ) -> MemberSummary {
        let status = status ?? MemberStatus.read(from: dir)
        var problems: [String] = []
        /// Reads a history, noting a file that exists but does not read (a missing one is no news).
        func history<T: HDF5Element>(_ d: ResultsDirectory, _ key: String, as: T.Type) -> HDF5Array<T>? {
            guard d.contains(key) else { return nil }
            do { return try d.read(key, as: T.self) } catch {
                problems.append("cannot read \(d.file(key).path): \(error)")
                return nil
            }
        }
        if !dir.exists { problems.append("\(dir.path) does not exist") }
        // As a resume would see it: entries past the last checkpoint that verifies left out.
        let checkpointed = CheckpointedHistory.read(dir, problems: &problems)
        let losses = checkpointed.valLoss
        var best: BestCheckpoint?
        if checkpointed.rolledBack {
            // Training stopped mid-checkpoint, so there is no post-training epe yet: the best
            // is chosen by the loss entries that survive the rollback.
            best = BestCheckpoint.choose(losses, checkpointIndices: checkpointed.chkptIndex, metric: .loss)
        } else {
            do { best = try BestCheckpoint.find(in: dir) } catch { problems.append("\(error)") }
        }
        let chkptIter = checkpointed.chkptIter
        var iterations = status?.iteration ?? chkptIter.last.map { Int($0) + 1 } ?? 0
        if checkpointed.rolledBack { iterations = chkptIter.last.map { Int($0) + 1 } ?? 0 }
        let time = history(dir, ResultsSchema.timeTrained, as: Double.self)?.values.first ?? 0
        var state = status?.state ?? (losses.isEmpty && best == nil ? .missing : .unknown)
        // "running" with no live run holding the member: it was killed (kill -9, a lost node)
        // and resumes like an interrupted one.
        if state == .running && checkpointed.live == false { state = .interrupted }
        if dir.exists && losses.isEmpty && best == nil && problems.isEmpty && status == nil {
            problems.append("\(dir.path) has no validation/loss.h5 and no _status.yaml: no results to summarize")
        }
        return MemberSummary(
            id: id, rank: rank, state: state, error: status?.error ?? "", valLoss: losses, best: best,
            iterations: iterations, timeTrained: time, problems: problems)
    }
}
