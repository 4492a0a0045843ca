import FlyvisConfig
import FlyvisHDF5
import FlyvisTestSupport
import Foundation
import Testing

/// Out-of-range integers and sizes, from overrides, a stored `_meta.yaml` or a stimulus file,
/// are errors that name the value, checked before anything is allocated: never a trap
/// (SIGILL) or an abort in an allocation (SIGABRT).
@Suite(.serialized) struct BoundedInputTests {
    static func hexals(extent: Int) -> Int { 3 * extent * (extent + 1) + 1 }

    @Test func integersOutOfRangeAreConfigErrors() throws {
        for text in ["1e400", "inf", "-inf", "1e19", "-1e19"] {
            #expect(throws: ConfigError.self, "task.n_iters=\(text)") { _ = try Config.load(overrides: ["task.n_iters=\(text)"]) }
        }
        // Whole numbers written as floats still count; halves do not.
        #expect(try Config.load(overrides: ["task.n_iters=1e5"]).int("task.n_iters") == 100_000)
        #expect(throws: ConfigError.self) { _ = try Config.load(overrides: ["task.n_iters=1.5"]) }
    }

    /// The reported overrides: each is one error line naming the key, exit 1 (2 for an
    /// ensemble), and nothing is created under the root.
    @Test func overridesOutOfRangeEndWithAnErrorAndWriteNothing() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let cases = [
            "task.n_iters=1e400", "task.n_iters=inf", "task.n_iters=1e19", "task.n_iters=-1e19",
            "task.n_iters=1e18", "task.n_iters=9223372036854775807", "task.dataset.n_frames=1000000000000",
            "task.dataset.builtin.frames=100000", "task.batch_size=1e12", "t_pre_train=1e300",
            "task.decoder.flow.shape=[8,1000000000]", "scheduler.lr_net.steps=1e15", "task.dataset.builtin.seed=-1",
        ]
        for o in cases {
            let key = String(o.prefix { $0 != "=" })
            let r = try runFlyvisBounded(
                ["train-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=0001/000"]
                    + Tiny.base + [o], seconds: 120)
            #expect(r.status == 1 && !r.signaled, "\(o): exit \(r.shellStatus)\n\(r.stderr.suffix(1000))")
            #expect(r.stderr.contains(key), "\(o): \(r.stderr.suffix(1000))")
        }
        let e = try runFlyvisBounded(
            ["--ensemble-id", "1", "--start", "0", "--end", "2", "--root", root.path] + Tiny.base
                + ["task.n_iters=1e400"], seconds: 120)
        #expect(e.status == 2 && !e.signaled, "exit \(e.shellStatus)\n\(e.stderr.suffix(1000))")
        #expect(snapshot(root).isEmpty, "nothing written: \(snapshot(root).keys.sorted())")
    }

    /// A stored config with an n_iters of 10^12 (or any size out of range) is refused by every
    /// command that reads it, and the directory is left as it was.
    @Test func storedConfigOutOfRangeIsRefusedEverywhere() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = try trainTinyMember(root: root, iterations: 9)
        let meta = member.appendingPathComponent("_meta.yaml")
        let text = try String(contentsOf: meta, encoding: .utf8)
        try #require(text.contains("  n_iters: 9\n"))
        try text.replacingOccurrences(of: "  n_iters: 9\n", with: "  n_iters: 1000000000000\n").write(
            to: meta, atomically: true, encoding: .utf8)
        let before = snapshot(member)
        let id = ["task_name=flow", "ensemble_and_network_id=0001/000"]
        for args in [
            ["train-single", "--root", root.path, "resume=true"] + id, ["val-single", "--root", root.path] + id,
            ["simulate", "--network-dir", member.path, "--stimulus", "/nonexistent.h5", "--out", root.appendingPathComponent("a.h5").path],
        ] {
            let r = try runFlyvisBounded(args, seconds: 120)
            #expect(r.status == 1 && !r.signaled, "\(args[0]): exit \(r.shellStatus)\n\(r.stderr.suffix(1000))")
            #expect(r.stderr.contains("task.n_iters") && r.stderr.contains("1000000000000"), "\(args[0]): \(r.stderr.suffix(1000))")
        }
        let after = snapshot(member)
        #expect(
            after.keys.sorted() == before.keys.sorted()
                && after.filter { !$0.key.hasSuffix("train.log") } == before.filter { !$0.key.hasSuffix("train.log") },
            "nothing rewritten")
    }

    /// Stimulus files whose `lum` claims more than the machine can hold (a kB file claiming 10^9
    /// frames), no frames, no sequences or the wrong hexals: one clear error, no output file.
    @Test func stimulusShapesAreCheckedBeforeReading() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = try trainTinyMember(root: root, iterations: 9)
        let n = Self.hexals(extent: 4)
        let cases: [([Int], String)] = [
            ([1, 1_000_000_000, 1, n], "GB"), ([1, 0, 1, n], "no frames"),
            ([0, 5, 1, n], "no sequences"), ([1, 5, 1, n - 1], "\(n) hexals"), ([5, n], "4 axes"),
        ]
        for (shape, message) in cases {
            let stimulus = root.appendingPathComponent("stimulus.h5")
            let f = try HDF5File(path: stimulus.path, mode: .truncate)
            try f.createDataset("lum", of: Float.self, shape: shape)
            try f.close()
            let out = root.appendingPathComponent("activity.h5")
            let r = try runFlyvisBounded(
                ["simulate", "--network-dir", member.path, "--stimulus", stimulus.path, "--out", out.path],
                seconds: 120)
            #expect(r.status == 1 && !r.signaled, "\(shape): exit \(r.shellStatus)\n\(r.stderr.suffix(1000))")
            #expect(r.stderr.contains(message) && r.stderr.contains("\(shape)"), "\(shape): \(r.stderr.suffix(1000))")
            #expect(!FileManager.default.fileExists(atPath: out.path))
        }
    }
}
