import FlyvisHDF5
import FlyvisResults
import FlyvisTestSupport
import FlyvisTorch
import Foundation
import Testing

/// Checkpoints that are not what they claim: nested too deeply, not regular files, full of
/// NaN. Each is unusable like a damaged file: `simulate` refuses it naming the file,
/// `val-single` gives it NaN, resume falls back to the checkpoint before it. Never a crash,
/// never a hang.
@Suite(.serialized) struct HostileCheckpointTests {
    /// The last checkpoint of a freshly trained member (3 checkpoints: 0, 1, 2).
    static func lastCheckpoint(_ member: URL) -> URL { member.appendingPathComponent("chkpts/chkpt_00002") }

    /// `simulate` of the last checkpoint fails naming it; resume falls back past it and
    /// finishes; returns their outcomes for further checks.
    static func expectRefusedAndSkipped(
        root: URL, member: URL, reason: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let stimulus = root.appendingPathComponent("stimulus.h5")
        let f = try HDF5File(path: stimulus.path, mode: .truncate)
        try f.write("lum", [Float](repeating: 0.5, count: 2 * 61), shape: [1, 2, 1, 61])
        try f.close()
        let out = root.appendingPathComponent("activity.h5")
        let sim = try runFlyvisBounded(
            [
                "simulate", "--network-dir", member.path, "--checkpoint", "last",
                "--stimulus", stimulus.path, "--out", out.path,
            ], seconds: 120)
        #expect(
            sim.status == 1 && !sim.signaled, "simulate: exit \(sim.shellStatus)\n\(sim.stderr.suffix(1500))",
            sourceLocation: sourceLocation)
        #expect(
            sim.stderr.contains(lastCheckpoint(member).path) && sim.stderr.contains(reason),
            "simulate: \(sim.stderr.suffix(1500))", sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: out.path), "no activity written", sourceLocation: sourceLocation)

        let val = try runFlyvisBounded(
            ["val-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=0001/000"],
            seconds: 300)
        #expect(
            val.status == 0 && !val.signaled, "val-single: exit \(val.shellStatus)\n\(val.stderr.suffix(1500))",
            sourceLocation: sourceLocation)
        let l2 = try ResultsDirectory(member).split(.validation).read(ResultsSchema.l2norm, as: Double.self).values
        #expect(l2.count == 3 && l2[2].isNaN && l2[0].isFinite, "NaN in its place: \(l2)", sourceLocation: sourceLocation)

        let resume = try runFlyvisBounded(
            [
                "train-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=0001/000",
                "resume=true", "task.n_iters=27",
            ], seconds: 300)
        #expect(
            resume.status == 0 && !resume.signaled, "resume: exit \(resume.shellStatus)\n\(resume.output.suffix(1500))",
            sourceLocation: sourceLocation)
        #expect(
            resume.output.contains("checkpoint '\(lastCheckpoint(member).path)' is unusable") && resume.output.contains(reason)
                && resume.output.contains("using an earlier checkpoint"),
            "resume names the checkpoint it skipped: \(resume.output.suffix(3000))",
            sourceLocation: sourceLocation)
        // Rebuilt from checkpoint 1 and trained on: every checkpoint reads again, and the one
        // val-single had scored NaN was validated anew.
        let d = ResultsDirectory(member)
        let indices = CheckpointStore(networkDirectory: d).indices()
        #expect(indices == [0, 1, 2, 3], sourceLocation: sourceLocation)
        for i in indices {
            #expect(throws: Never.self, sourceLocation: sourceLocation) { _ = try CheckpointStore(networkDirectory: d).read(index: i) }
        }
        let validated = try d.split(.validation).read(ResultsSchema.l2norm, as: Double.self).values
        #expect(validated.count == 4 && validated.allSatisfy(\.isFinite), "re-validated: \(validated)", sourceLocation: sourceLocation)
    }

    /// A pickle nested 60,000 levels deep (a 120 kB checkpoint) used to overflow the stack.
    @Test func deepPickleNestingIsRefused() throws {
        let depth = 60_000
        let pickle: [UInt8] = [0x80, 2] + [UInt8](repeating: 0x5d, count: depth) + [UInt8](repeating: 0x61, count: depth - 1) + [0x2e]
        var reader = PickleReader(pickle) { _ in [] }
        do {
            _ = try reader.load()
            Issue.record("a pickle nested \(depth) levels deep must be refused")
        } catch let error as PickleError {
            #expect(error.description.contains("nest deeper than \(PickleReader.maxDepth)"), "\(error)")
        }
        // Through the binaries: the same pickle as a member's last checkpoint.
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = try trainTinyMember(root: root)
        try TorchArchive.writeRaw(
            records: [("data.pkl", pickle), ("byteorder", Array("little".utf8)), ("version", Array("3\n".utf8))],
            to: Self.lastCheckpoint(member).path, archiveName: "chkpt_00002")
        try Self.expectRefusedAndSkipped(root: root, member: member, reason: "nest deeper")
    }

    /// A checkpoint path that is a directory made the zip reader seek forever; a FIFO would
    /// block on open. Both are refused at once as not regular files.
    @Test(arguments: ["directory", "FIFO"])
    func nonRegularCheckpointFilesAreSkipped(kind: String) throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = try trainTinyMember(root: root)
        let path = Self.lastCheckpoint(member)
        try FileManager.default.removeItem(at: path)
        if kind == "FIFO" {
            try #require(mkfifo(path.path, 0o644) == 0)
        } else {
            try FileManager.default.createDirectory(at: path, withIntermediateDirectories: false)
        }
        #expect(throws: ResultsError.self) { _ = try CheckpointStore.read(path.path) }
        let stimulus = root.appendingPathComponent("s.h5")
        let f = try HDF5File(path: stimulus.path, mode: .truncate)
        try f.write("lum", [Float](repeating: 0.5, count: 61), shape: [1, 1, 1, 61])
        try f.close()
        let r = try runFlyvisBounded(
            [
                "simulate", "--network-dir", member.path, "--checkpoint", "last", "--stimulus", stimulus.path,
                "--out", root.appendingPathComponent("o.h5").path,
            ], seconds: 60)
        #expect(r.status == 1 && !r.signaled, "exit \(r.shellStatus) (124: hung)\n\(r.stderr.suffix(1000))")
        #expect(r.stderr.contains("it is a \(kind == "FIFO" ? "FIFO" : "directory"), not a regular file"), "\(r.stderr.suffix(1000))")
        // Resume skips it; the directory cannot be replaced by a checkpoint file, so that case
        // ends in an error naming it (not a hang); the FIFO is replaced.
        let resume = try runFlyvisBounded(
            [
                "train-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=0001/000",
                "resume=true", "task.n_iters=27",
            ], seconds: 300)
        #expect(!resume.signaled && resume.status != 124, "exit \(resume.shellStatus)\n\(resume.output.suffix(2000))")
        #expect(
            resume.output.contains("not a regular file)") && resume.output.contains("using an earlier checkpoint"),
            "\(resume.output.suffix(2000))")
        if kind == "FIFO" { #expect(resume.status == 0, "\(resume.output.suffix(2000))") }
    }

    /// A checkpoint of NaN tensors (valid CRCs) is invalid: simulate used to write all-NaN
    /// activity, resume to report "Network exploded" without naming the file.
    @Test func nanCheckpointsAreInvalid() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = try trainTinyMember(root: root)
        let path = Self.lastCheckpoint(member)
        var c = try CheckpointStore.read(path.path)
        let bias = try #require(c.network["nodes_bias"])
        c.network["nodes_bias"] = .float([Float](repeating: .nan, count: bias.count), shape: bias.shape)
        try CheckpointStore.write(c, to: path)
        try Self.expectRefusedAndSkipped(root: root, member: member, reason: "network/nodes_bias holds NaN or infinite values")
    }
}
