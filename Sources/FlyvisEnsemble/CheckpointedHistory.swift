import FlyvisHDF5
import FlyvisResults
import Foundation

/// A member's per-checkpoint history as a resume would leave it, read without writing: a run
/// killed during a checkpoint can leave `validation/loss` one entry longer than the
/// checkpoints (the entry of a checkpoint file that was never written), which a resume rolls
/// back. A summary must not rank that entry, or name its checkpoint as the best.
struct CheckpointedHistory {
    var valLoss: [Double] = []
    var chkptIndex: [Int] = []
    var chkptIter: [Int64] = []
    /// A live run holds the member's lock (nil: the file system cannot tell).
    var live: Bool?
    /// Entries beyond the last checkpoint that verifies were left out.
    var rolledBack = false

    /// Reads the histories; a file that exists but does not read is noted in `problems`.
    static func read(
        _ dir: ResultsDirectory, problems: inout [String],
        describe: (URL, Error) -> String = { "cannot read \($0.path): \($1)" }
    ) -> CheckpointedHistory {
        func history<T: HDF5Element>(_ d: ResultsDirectory, _ key: String, as: T.Type) -> [T] {
            guard d.contains(key) else { return [] }
            do { return try d.read(key, as: T.self).values } catch {
                problems.append(describe(d.file(key), error))
                return []
            }
        }
        var h = CheckpointedHistory()
        h.valLoss = history(dir.split(.validation), ResultsSchema.loss, as: Double.self)
        h.chkptIndex = history(dir, ResultsSchema.chkptIndex, as: Int64.self).map { Int($0) }
        h.chkptIter = history(dir, ResultsSchema.chkptIter, as: Int64.self)
        h.live = MemberLock.isHeld(directory: dir.url)
        let store = CheckpointStore(networkDirectory: dir)
        // Without checkpoint files (a copy of the histories alone) there is nothing to check.
        guard FileManager.default.fileExists(atPath: store.directory.path) else { return h }
        let files = store.indices()
        let consistent = files == Array(0..<files.count) && h.chkptIndex == files && h.valLoss.count == files.count
        if consistent { return h }
        let keep: Int
        if h.live == true {
            // A running member may be mid-checkpoint: count only checkpoints whose file exists.
            keep = files.count
        } else {
            // As resume: the last checkpoint that reads and verifies, and nothing after it.
            keep = ((try? store.latestValid())?.index).map { $0 + 1 } ?? 0
        }
        if h.valLoss.count > keep || h.chkptIndex.count > keep || h.chkptIter.count > keep { h.rolledBack = true }
        h.valLoss = Array(h.valLoss.prefix(keep))
        h.chkptIndex = Array(h.chkptIndex.prefix(keep))
        h.chkptIter = Array(h.chkptIter.prefix(keep))
        return h
    }
}
