import FlyvisHDF5
import FlyvisResults
import FlyvisTestSupport
import Foundation
import Testing

/// `summary` of a member killed (-9) in the middle of a checkpoint, before any resume: the
/// directory is read as resume would leave it, and nothing in it is written.
@Suite(.serialized) struct SummaryAfterKillTests {
    /// What a kill -9 between the histories and the checkpoint file leaves: `validation/loss`,
    /// `chkpt_index` and `chkpt_iter` one entry longer than the checkpoint files (here the new
    /// entry would be the best), `_status.yaml` saying running, and no process holding it.
    @Test func summaryReadsAnUnrolledBackMemberAsResumeWould() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = try trainTinyMember(root: root)
        let d = ResultsDirectory(member)
        let losses = try d.split(.validation).read(ResultsSchema.loss, as: Double.self).values
        try #require(losses.count == 3 && CheckpointStore(networkDirectory: d).indices() == [0, 1, 2])
        try d.split(.validation).extend(ResultsSchema.loss, [0.0])
        try d.extend(ResultsSchema.chkptIndex, [Int64(3)])
        try d.extend(ResultsSchema.chkptIter, [Int64(26)])
        try "state: running\niteration: 18\n".write(
            to: member.appendingPathComponent(ResultsSchema.status), atomically: true, encoding: .utf8)
        let before = snapshot(member)

        let ens = member.deletingLastPathComponent()
        let r = try runFlyvisBounded(["summary", ens.path], seconds: 120)
        #expect(r.status == 0, "\(r.output.suffix(2000))")
        #expect(snapshot(member) == before, "the member directory is not written")
        let f = try HDF5File(path: ens.appendingPathComponent(ResultsSchema.ensembleSummary).path, mode: .readOnly)
        let expectedBest = Int64(losses.firstIndex(of: losses.min()!)!)
        #expect(try f.read("best_chkpt", as: Int64.self).values == [expectedBest], "a checkpoint that exists")
        #expect(try f.read("min_val_loss", as: Double.self).values == [losses.min()!])
        #expect(try f.readStrings("state") == ["interrupted"], "no live run holds it: not running")
        let best = try String(contentsOf: ens.appendingPathComponent(ResultsSchema.bestCheckpoints), encoding: .utf8)
        #expect(best.contains(CheckpointStore(networkDirectory: d).path(index: Int(expectedBest)).path), "\(best)")

        // The resume it predicts: the same best checkpoint, now rolled back on disk.
        let resume = try runFlyvisBounded(
            [
                "train-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=0001/000",
                "resume=true", "--skip-validation",
            ], seconds: 300)
        #expect(resume.status == 0, "\(resume.output.suffix(2000))")
        #expect(try d.split(.validation).read(ResultsSchema.loss, as: Double.self).values == losses)
    }

    /// A member that a live run holds is reported running, and only its checkpoints that exist
    /// are ranked.
    @Test func aLiveMemberStaysRunning() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = try trainTinyMember(root: root)
        let d = ResultsDirectory(member)
        try d.split(.validation).extend(ResultsSchema.loss, [0.0])
        try "state: running\niteration: 18\n".write(
            to: member.appendingPathComponent(ResultsSchema.status), atomically: true, encoding: .utf8)
        let lock = try MemberLock(directory: member)
        defer { lock.release() }
        let r = try runFlyvisBounded(["summary", member.deletingLastPathComponent().path], seconds: 120)
        #expect(r.status == 0, "\(r.output.suffix(2000))")
        let f = try HDF5File(
            path: member.deletingLastPathComponent().appendingPathComponent(ResultsSchema.ensembleSummary).path, mode: .readOnly)
        #expect(try f.readStrings("state") == ["running"])
        #expect(try f.read("best_chkpt", as: Int64.self).values.allSatisfy { (0...2).contains($0) })
    }
}
