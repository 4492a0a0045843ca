import FlyvisHDF5
import FlyvisMPI
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
    /// Checkpoint index (as in `chkpts/chkpt_NNNNN`) with the lowest validation loss, or -1.
    package var bestCheckpoint: Int
    package var minValLoss: Double
    package var iterations: Int
    package var timeTrained: Double
    /// Files of the member that exist but cannot be read, or why the member has no results.
    package var problems: [String] = []

    /// Reads a member's results directory. Missing files give empty/NaN fields, so partially
    /// trained or failed members still get a row.
    package static func collect(_ dir: ResultsDirectory, id: MemberID, rank: Int = -1,
                               status: MemberStatus? = nil) -> MemberSummary {
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
        let lossFile = history(dir.split(.validation), ResultsSchema.loss, as: Double.self)
        let losses = lossFile?.values ?? []
        let chkptIndex = history(dir, ResultsSchema.chkptIndex, as: Int64.self)?.values.map(Int.init) ?? []
        var best = -1
        var minLoss = Double.nan
        for (i, l) in losses.enumerated() where !l.isNaN && (minLoss.isNaN || l < minLoss) {
            minLoss = l
            best = i < chkptIndex.count ? chkptIndex[i] : i
        }
        let chkptIter = history(dir, ResultsSchema.chkptIter, as: Int64.self)?.values ?? []
        let iterations = status?.iteration ?? chkptIter.last.map { Int($0) + 1 } ?? 0
        let time = history(dir, ResultsSchema.timeTrained, as: Double.self)?.values.first ?? 0
        let state = status?.state ?? (losses.isEmpty ? .missing : .unknown)
        if dir.exists && losses.isEmpty && problems.isEmpty && status == nil {
            problems.append("\(dir.path) has no validation/loss.h5 and no _status.yaml: no results to summarize")
        }
        return MemberSummary(id: id, rank: rank, state: state, error: status?.error ?? "",
                             valLoss: losses, bestCheckpoint: best, minValLoss: minLoss,
                             iterations: iterations, timeTrained: time, problems: problems)
    }
}
