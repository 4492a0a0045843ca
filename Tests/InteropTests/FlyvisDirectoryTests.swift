import FlyvisBase
import FlyvisConfig
import FlyvisData
import FlyvisHDF5
import FlyvisNetwork
import FlyvisResults
import FlyvisSolver
import FlyvisTestSupport
import Foundation
import Testing

@Suite(.serialized) struct FlyvisDirectoryTests {
    static let quiet = TrainingLog(echoToStderr: false)

    /// A writable copy of the fixture's best member under `<root>/results/<task>/<ens>/<NNN>`.
    func copyOfBestMember() throws -> (root: URL, directory: ResultsDirectory, id: String) {
        let (dir, _) = try FlyvisResultsReference.bestMember()
        let parts = dir.url.pathComponents.suffix(3)
        let root = try temporaryDirectory("flyvis-copy")
        let target = root.appendingPathComponent("results").appendingPathComponent(parts.joined(separator: "/"))
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: dir.url, to: target)
        // The fixture files are read-only in the shared tree; the copy must be writable.
        let e = FileManager.default.enumerator(atPath: target.path)!
        for case let rel as String in e { chmod(target.appendingPathComponent(rel).path, 0o755) }
        chmod(target.path, 0o755)
        return (root, ResultsDirectory(target), Array(parts).dropFirst().joined(separator: "/"))
    }

    /// `train-single ... resume=true` on a copy of a flyvis member continues from flyvis's last
    /// checkpoint, Adam moments included, and keeps flyvis's histories.
    @Test func resumingAFlyvisDirectoryTrainsOn() throws {
        let (root, dir, id) = try copyOfBestMember()
        defer { try? FileManager.default.removeItem(at: root) }
        let task = dir.url.pathComponents.suffix(3).first!
        let base = ["task_name=\(task)", "ensemble_and_network_id=\(id)", "resume=true"]
        let store = CheckpointStore(networkDirectory: dir)
        let lastIndex = try #require(store.indices().last)
        let last = try store.read(index: lastIndex)
        let flyvisLoss = try dir.read("loss", as: Double.self).values
        let flyvisChkpts = try dir.read("chkpt_index", as: Int64.self).values
        let target = last.iteration + 1 + 6

        // The stored Sintel path does not exist here: the error names the key to override.
        do {
            let config = try MultiTaskSolver.resolveConfig(overrides: base + ["task.n_iters=\(target)"], root: root)
            _ = try MultiTaskSolver(config: config, root: root, resume: true, log: Self.quiet)
            Issue.record("resume without the data set succeeded")
        } catch {
            #expect("\(error)".contains("task.dataset.sintel_path"), "\(error)")
        }

        let sintel = root.appendingPathComponent("mock-sintel")
        try MockSintel.writeMoving(at: sintel)
        let config = try MultiTaskSolver.resolveConfig(
            overrides: base + ["task.n_iters=\(target)", "task.dataset.sintel_path=\(sintel.path)"],
            root: root)
        // The stored config is the base: flyvis's extent and schedule, not our defaults.
        let stored = try Config.fromMeta(try dir.readMeta()!, file: "_meta.yaml").config
        #expect(try config.int("network.connectome.extent") == stored.int("network.connectome.extent"))
        let solver = try MultiTaskSolver(config: config, root: root, resume: true, log: Self.quiet)
        #expect(solver.iteration == last.iteration + 1)
        #expect(solver.checkpointIndex == lastIndex)
        for (k, name) in ParameterName.allCases.enumerated() {
            #expect(solver.network.parameters[name] == last.network[name.rawValue]!.floats!, "\(name)")
            if let e = last.optim?.state[k] {
                let m = try #require(solver.step.adam.state[.network(name)], "Adam state of \(name)")
                #expect(m.expAvg == e.expAvg.floats! && m.expAvgSq == e.expAvgSq.floats! && Double(m.step) == e.step, "Adam \(name)")
            } else {
                #expect(solver.step.adam.state[.network(name)] == nil, "\(name) had no Adam state in flyvis's checkpoint")
            }
        }
        #expect(try solver.train() == .finished)
        #expect(solver.iteration >= target)
        let loss = try dir.read("loss", as: Double.self).values
        #expect(loss.count == solver.iteration)
        #expect(Array(loss.prefix(flyvisLoss.count)) == flyvisLoss, "flyvis's loss history is kept")
        #expect(loss.allSatisfy { $0.isFinite })
        let chkpts = try dir.read("chkpt_index", as: Int64.self).values
        #expect(chkpts.count > flyvisChkpts.count && chkpts == (0..<Int64(chkpts.count)).map { $0 })
        #expect(try dir.subdirectory("validation").read("loss", as: Double.self).values.count == chkpts.count)
        #expect(store.indices().map(Int64.init) == chkpts)
        let newest = try store.read(index: store.indices().last!)
        #expect(newest.resume != nil && newest.iteration == solver.iteration - 1)
        // val-single on the directory: l2norm and epe for every checkpoint, flyvis's and ours.
        try solver.validateIfNeeded()
        let validation = dir.subdirectory("validation")
        for name in ["l2norm", "epe"] {
            let v = try validation.read(name, as: Double.self).values
            #expect(v.count == chkpts.count && v.allSatisfy { $0.isFinite && $0 > 0 }, "validation/\(name)")
        }
    }

    /// A new run can start from a flyvis model's weights; a model of another shape is refused
    /// naming both shapes.
    @Test func newRunStartsFromAFlyvisModel() throws {
        let (source, best) = try FlyvisResultsReference.bestMember()
        let expected = try CheckpointStore(networkDirectory: source).read(index: best)
        let extent = try TrainedNetwork.storedConfig(source).int("network.connectome.extent")
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let small = [
            "task_name=flow", "task.dataset.builtin.scenes=8", "task.batch_size=2", "task.n_iters=4",
            "task.dataset.boxfilter.extent=\(extent)",
        ]
        let config = try Config.load(overrides: small + ["ensemble_and_network_id=0500/000", "network.connectome.extent=\(extent)"])
        let solver = try MultiTaskSolver(config: config, root: root, resume: false, log: Self.quiet)
        try solver.initialize(from: source, checkpoint: .best)
        try solver.checkpoint()
        let first = try CheckpointStore(networkDirectory: solver.directory).read(index: 0)
        #expect(first.network == expected.network)
        #expect(first.decoder.keys.sorted() == expected.decoder.keys.sorted() && !first.decoder.isEmpty)
        for (task, theirs) in expected.decoder {
            let ours = try #require(first.decoder[task])
            #expect(ours.names == theirs.names, "\(task) decoder names")
            for name in theirs.names {
                let (a, b) = (ours[name]!, theirs[name]!)
                #expect(a.shape == b.shape, "\(task) \(name)")
                guard name.hasSuffix("weight"), b.shape.count == 4 else {
                    #expect(a == b, "\(task) \(name)")
                    continue
                }
                // Convolution weights: our decoder keeps the off-hexagon taps at zero (flyvis
                // re-masks them before every forward, so they never act). A 5×5 hexagonal kernel
                // of radius 2 has 19 taps: exactly 6 of every 25 are zeroed, the rest are flyvis's.
                let (x, y) = (a.floats!, b.floats!)
                let taps = b.shape[2] * b.shape[3]
                #expect(allClose(x, y) { $0 == $1 || $0 == 0 }, "\(task) \(name): values")
                for k in stride(from: 0, to: x.count, by: taps) {
                    let zeroed =
                        (k..<k + taps).filter { x[$0] == 0 && y[$0] != 0 }.count + (k..<k + taps).filter { x[$0] == 0 && y[$0] == 0 }.count
                    #expect(zeroed == taps - 19, "\(task) \(name): kernel at \(k) has \(taps - zeroed) taps")
                }
            }
        }

        // A lattice of extent 1 has fewer synapse groups (no offsets beyond the first ring), so
        // the stored parameter vectors do not fit: refused, naming the key and both shapes.
        let other = try Config.load(
            overrides: small + [
                "ensemble_and_network_id=0500/001", "network.connectome.extent=1",
                "task.dataset.boxfilter.extent=1",
            ])
        let mismatched = try MultiTaskSolver(config: other, root: root, resume: false, log: Self.quiet)
        do {
            try mismatched.initialize(from: source, checkpoint: .best)
            Issue.record("a checkpoint of extent \(extent) loaded into extent 1")
        } catch {
            #expect("\(error)".contains("shape") && "\(error)".contains("network/"), "\(error)")
        }
    }
}
