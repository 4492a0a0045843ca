import FlyvisHDF5
import FlyvisTestSupport
import Foundation
import Testing

/// The golden network file (Tests/Fixtures), or FLYVIS_REFERENCE.
var networkReferencePath: String { Fixtures.network.path }

@Suite struct CLITests {
    @Test func simulateWritesReferenceActivity() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ref = try HDF5File(path: networkReferencePath, mode: .readOnly)
        let params = dir.appendingPathComponent("params.h5").path
        do {
            let f = try HDF5File(path: params, mode: .truncate)
            for name in try ref.children("params") {
                let a: HDF5Array<Float> = try ref.read("params/\(name)")
                try f.write("network/\(name)", a.values, shape: a.shape)
            }
            try f.close()
        }
        let stim = dir.appendingPathComponent("stim.h5").path
        let lum: HDF5Array<Float> = try ref.read("simulate/lum")
        do {
            let f = try HDF5File(path: stim, mode: .truncate)
            try f.write("lum", lum.values, shape: lum.shape)
            try f.close()
        }
        let out = dir.appendingPathComponent("activity.h5").path
        let tPre = try ref.attribute("t_pre", on: "simulate", as: Double.self)
        let dt = try ref.attribute("dt", on: "simulate", as: Double.self)
        let r = try run(
            productPath("flyvis-ensemble"),
            [
                "simulate", "--params", params, "--stimulus", stim, "--out", out,
                "--t-pre", "\(tPre)", "--dt", "\(dt)", "--nodes", "central",
            ])
        #expect(r.status == 0, "\(r.output)")
        let got: HDF5Array<Float> = try HDF5File(path: out, mode: .readOnly).read("activity")
        let want: HDF5Array<Float> = try ref.read("simulate/central_activity")
        #expect(got.shape == want.shape)
        #expect(maxAbsDiff(got.values, want.values) <= 1e-5)

        // A wrong stimulus gets a clear message and a usage exit code, and writes nothing.
        let bad = try run(
            productPath("flyvis-ensemble"),
            [
                "simulate", "--params", params, "--stimulus", params,
                "--out", dir.appendingPathComponent("x.h5").path,
            ])
        #expect(bad.status == 1, "a data error is not a usage error (64)")
        #expect(bad.output.contains("needs a dataset 'lum'") && !bad.output.contains("USAGE"), "\(bad.output)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.h5").path))

        // A non-finite stimulus is refused, naming the file, instead of simulating NaN with rc 0.
        var poisoned = lum.values
        poisoned[poisoned.count / 2] = .nan
        let nanStim = dir.appendingPathComponent("nan.h5").path
        do {
            let f = try HDF5File(path: nanStim, mode: .truncate)
            try f.write("lum", poisoned, shape: lum.shape)
            try f.close()
        }
        let nan = try run(
            productPath("flyvis-ensemble"),
            [
                "simulate", "--params", params, "--stimulus", nanStim,
                "--out", dir.appendingPathComponent("y.h5").path,
            ])
        #expect(nan.status == 1 && nan.output.contains("non-finite") && nan.output.contains(nanStim), "\(nan.output)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("y.h5").path))

        // A negative time step is read as the value it is, and refused.
        let negative = try run(
            productPath("flyvis-ensemble"),
            [
                "simulate", "--params", params, "--stimulus", stim,
                "--out", dir.appendingPathComponent("z.h5").path, "--dt", "-0.02",
            ])
        #expect(negative.status != 0 && negative.output.contains("--dt must be positive (got -0.02)"), "\(negative.output)")
    }

    /// `simulate --network-dir` on a directory trained by flyvis: the model comes from its
    /// `_meta.yaml` and best checkpoint, and the activity matches what flyvis computed.
    @Test func simulateAFlyvisNetworkDirectory() throws {
        let fixture = Fixtures.results
        let expected = fixture.appendingPathComponent("expected.h5").path
        let ref = try HDF5File(path: expected, mode: .readOnly)
        let best = try ref.stringAttribute("best_checkpoint").split(separator: "/").map(String.init)  // results/t/e/m/chkpts/c
        let member = fixture.appendingPathComponent(best[1...3].joined(separator: "/")).path
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("activity.h5").path
        let r = try run(
            productPath("flyvis-ensemble"),
            [
                "simulate", "--network-dir", member, "--stimulus", expected, "--out", out,
                "--t-pre", "\(try ref.attribute("t_pre", as: Double.self))",
                "--dt", "\(try ref.attribute("dt", as: Double.self))", "--nodes", "all",
            ])
        #expect(r.status == 0, "\(r.output)")
        let got: HDF5Array<Float> = try HDF5File(path: out, mode: .readOnly).read("activity")
        let want: HDF5Array<Float> = try ref.read("activity")
        #expect(got.shape == want.shape && !want.values.isEmpty)
        #expect(maxAbsDiff(got.values, want.values) <= 1e-5)

        // A checkpoint index that does not exist is named, with the ones that do.
        let missing = try run(
            productPath("flyvis-ensemble"),
            [
                "simulate", "--network-dir", member, "--checkpoint", "99",
                "--stimulus", expected, "--out", dir.appendingPathComponent("x.h5").path,
            ])
        #expect(missing.status != 0 && missing.output.contains("no checkpoint 99"), "\(missing.output)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.h5").path))
    }

    /// `summary` on an ensemble with an unreadable member: the others are summarized, the bad
    /// file is named, and the command fails (it used to exit 0 without a word).
    @Test func summaryNamesAnUnreadableMember() throws {
        let source = Fixtures.results.appendingPathComponent("flow/9998")
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let ens = root.appendingPathComponent("flow/9998")
        try FileManager.default.createDirectory(at: ens.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source, to: ens)
        let good = try run(productPath("flyvis-ensemble"), ["summary", ens.path])
        #expect(good.status == 0 && !good.output.contains("WARNING"), "\(good.output)")
        let members = try FileManager.default.contentsOfDirectory(atPath: ens.path).filter { $0.allSatisfy(\.isNumber) }.sorted()
        let broken = ens.appendingPathComponent("\(members.last!)/validation/loss.h5")
        chmod(broken.deletingLastPathComponent().path, 0o755)
        try? FileManager.default.removeItem(at: broken)
        try Data("not an HDF5 file".utf8).write(to: broken)
        let bad = try run(productPath("flyvis-ensemble"), ["summary", ens.path])
        #expect(bad.status == 1, "\(bad.output)")
        #expect(bad.output.contains(broken.path) && bad.output.contains("could not be read"), "\(bad.output)")
        #expect(bad.output.contains("flow/9998/\(members.first!)"), "the readable member is still ranked")
    }
}

/// `val-single` on a member that does not exist: an error naming the directory (exit 1), and
/// no directory created (it used to create one and report "best l2norm nan").
@Suite struct ValSingleErrorTests {
    @Test func missingMemberIsAnErrorAndCreatesNothing() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try run(
            productPath("flyvis-ensemble"),
            [
                "val-single", "--root", root.path, "task_name=flow",
                "ensemble_and_network_id=0001/000",
            ])
        #expect(r.status == 1 && r.output.contains("has no checkpoints to validate") && !r.output.contains("USAGE"), "\(r.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).isEmpty)
    }
}

/// Two processes that need the same built-in data set at once: one generates it, the other
/// waits and reads it (every rank used to generate it itself).
@Suite struct SharedRenderingTests {
    @Test func concurrentRunsGenerateTheDataSetOnce() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bin = productPath("flyvis-ensemble")
        // Both processes start before either can finish generating.
        var processes: [Process] = []
        for member in 0..<2 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: bin)
            p.arguments = [
                "train-single", "--root", root.path, "--skip-validation", "task_name=flow",
                "ensemble_and_network_id=0012/00\(member)", "network.connectome.extent=4", "task.dataset.boxfilter.extent=4",
                "task.dataset.builtin.scenes=16", "task.batch_size=2", "task.n_iters=2", "train=false",
            ]
            let out = root.appendingPathComponent("out\(member).txt")
            FileManager.default.createFile(atPath: out.path, contents: nil)
            let handle = try FileHandle(forWritingTo: out)
            p.standardOutput = handle
            p.standardError = handle
            processes.append(p)
        }
        for p in processes { try p.run() }
        for p in processes { p.waitUntilExit() }
        #expect(processes.allSatisfy { $0.terminationStatus == 0 })
        let logs = try (0..<2).map { try String(contentsOf: root.appendingPathComponent("out\($0).txt"), encoding: .utf8) }
        let generated = logs.map { $0.components(separatedBy: "Generating the built-in").count - 1 }.reduce(0, +)
        #expect(generated == 1, "the data set was generated \(generated) times:\n\(logs.joined(separator: "\n---\n"))")
        #expect(logs.contains { $0.contains("Reusing") })
    }
}
