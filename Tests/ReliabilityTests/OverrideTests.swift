import FlyvisEnsemble
import FlyvisResults
import FlyvisTestSupport
import Foundation
import Testing

/// Overrides that are refused leave no trace, and the ones that are accepted are kept with
/// the run.
@Suite(.serialized) struct OverrideTests {
    /// A mistyped --member-override is a usage of the config (exit 2) found before any rank
    /// trains, and a later clean run of the same ensemble trains that member as usual.
    @Test func failedMemberOverrideExits2AndDoesNotStick() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let job =
            ["--ensemble-id", "4", "--start", "0", "--end", "2", "--root", root.path, "--skip-validation"] + Tiny.base + ["task.n_iters=9"]
        let bad = try runFlyvis(job + ["--member-override", "1:task.n_itres=3"])
        #expect(bad.status == 2 && !bad.signaled, "\(bad.output.suffix(1500))")
        #expect(bad.stderr.contains("member 1") && bad.stderr.contains("task.n_itres"), "\(bad.stderr.suffix(1500))")
        #expect(snapshot(root).isEmpty, "nothing written: \(snapshot(root).keys.sorted())")
        let clean = try runFlyvis(job)
        #expect(clean.status == 0, "\(clean.output.suffix(1500))")
        let ens = ResultsDirectory(root.appendingPathComponent("results/flow/0004"))
        for m in 0..<2 { #expect(MemberStatus.read(from: ens.member(m))?.state == .finished, "member \(m)") }
    }

    /// `+foo=1` is stored in `_meta.yaml` with the rest of the config, so a resume repeats it
    /// without complaint and a different value is a refused difference.
    @Test func addedKeysAreStoredAndCompared() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = try trainTinyMember(root: root, iterations: 9, ["+foo=1", "+task.extra=x"])
        let meta = try String(contentsOf: member.appendingPathComponent("_meta.yaml"), encoding: .utf8)
        #expect(meta.contains("\n  foo: 1\n") && meta.contains("\n    extra: x\n"), "\(meta)")
        let id = [
            "train-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=0001/000", "resume=true", "--skip-validation",
        ]
        let same = try runFlyvis(id + ["+foo=1"])
        #expect(same.status == 0, "\(same.output.suffix(1500))")
        let other = try runFlyvis(id + ["+foo=2"])
        #expect(other.status == 1 && other.stderr.contains("foo: 1 → 2"), "\(other.output.suffix(1500))")
    }

    /// Training runs in whole epochs, so it may end past task.n_iters: the progress lines say
    /// so instead of "Iteration 18/10".
    @Test func progressLineSaysTrainingRunsInWholeEpochs() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = try trainTinyMember(root: root, iterations: 10)
        let log = try String(contentsOf: member.appendingPathComponent("train.log"), encoding: .utf8)
        #expect(log.contains("Iteration 18/18 (task.n_iters=10 rounded up to whole epochs)"), "\(log)")
        #expect(!log.contains("/10,"), "\(log)")
    }

    /// `simulate --out` naming the stimulus (however spelt) would replace the input.
    @Test func simulateRefusesToOverwriteItsStimulus() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let stimulus = root.appendingPathComponent("movie.h5")
        try Data("not replaced".utf8).write(to: stimulus)
        let r = try runFlyvis([
            "simulate", "--params", "/nonexistent", "--stimulus", stimulus.path,
            "--out", root.path + "/./sub/../movie.h5",
        ])
        #expect(r.status == 64, "\(r.output.suffix(1000))")
        #expect(r.stderr.contains("is the --stimulus file"), "\(r.stderr.suffix(1000))")
        #expect(try Data(contentsOf: stimulus) == Data("not replaced".utf8))
    }
}
