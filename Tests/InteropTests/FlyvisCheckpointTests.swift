import FlyvisHDF5
import FlyvisNetwork
import FlyvisResults
import FlyvisSolver
import FlyvisTestSupport
import FlyvisTorch
import Foundation
import Testing

/// The results tree written by flyvis 1.2.0's own trainer (Tests/Fixtures/flyvis-results), or
/// the one named by FLYVIS_RESULTS_REFERENCE: `flow/<ens>/<member>/` and `expected.h5`.
enum FlyvisResultsReference {
    static var root: URL { Fixtures.results }

    static func expected() throws -> HDF5File {
        try HDF5File(path: root.appendingPathComponent("expected.h5").path, mode: .readOnly)
    }

    /// Every member directory (`flow/<ens>/<NNN>`), sorted.
    static func members() throws -> [ResultsDirectory] {
        var out: [URL] = []
        let fm = FileManager.default
        for task in try fm.contentsOfDirectory(atPath: root.path).sorted() where !task.contains(".") {
            let t = root.appendingPathComponent(task)
            for ens in try fm.contentsOfDirectory(atPath: t.path).sorted() {
                let e = t.appendingPathComponent(ens)
                for m in try fm.contentsOfDirectory(atPath: e.path).sorted()
                where fm.fileExists(atPath: e.appendingPathComponent("\(m)/chkpts").path) {
                    out.append(e.appendingPathComponent(m))
                }
            }
        }
        return out.map(ResultsDirectory.init)
    }

    /// The member whose best checkpoint `expected.h5` describes.
    static func bestMember() throws -> (ResultsDirectory, Int) {
        let rel = try expected().stringAttribute("best_checkpoint")  // results/<task>/<ens>/<NNN>/chkpts/chkpt_K
        let parts = rel.split(separator: "/").map(String.init)
        #expect(parts.count == 6 && parts[0] == "results" && parts[4] == "chkpts", "unexpected best_checkpoint '\(rel)'")
        let dir = ResultsDirectory(root.appendingPathComponent("\(parts[1])/\(parts[2])/\(parts[3])"))
        return (dir, Int(parts[5].filter(\.isNumber))!)
    }
}

/// Values must agree element for element, with the same count, and there must be values.
func expectIdentical<T: Equatable>(_ ours: [T], _ ref: [T], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(!ref.isEmpty, "\(what): the reference is empty", sourceLocation: sourceLocation)
    #expect(ours.count == ref.count, "\(what): \(ours.count) values, reference has \(ref.count)", sourceLocation: sourceLocation)
    if ours.count == ref.count, let i = ours.indices.first(where: { ours[$0] != ref[$0] }) {
        Issue.record("\(what): first difference at \(i): \(ours[i]) vs \(ref[i])", sourceLocation: sourceLocation)
    }
}

@Suite struct FlyvisCheckpointTests {
    /// Every checkpoint of every fixture member reads, and agrees with the member's own
    /// bookkeeping files (written by flyvis separately from the checkpoints).
    @Test func everyFixtureCheckpointReadsAndAgreesWithItsDirectory() throws {
        let members = try FlyvisResultsReference.members()
        #expect(!members.isEmpty, "no member directories under \(FlyvisResultsReference.root.path)")
        for dir in members {
            let store = CheckpointStore(networkDirectory: dir)
            let chkptIndex = try dir.read("chkpt_index", as: Int64.self).values.map(Int.init)
            let chkptIter = try dir.read("chkpt_iter", as: Int64.self).values.map(Int.init)
            let valLoss = try dir.subdirectory("validation").read("loss", as: Double.self).values
            #expect(store.indices() == chkptIndex, "\(dir.path)")
            for (position, index) in chkptIndex.enumerated() {
                let c = try store.read(index: index)
                let what = "\(dir.path) chkpt \(index)"
                #expect(
                    c.network.names == ["nodes_bias", "nodes_time_const", "edges_sign", "edges_syn_count", "edges_syn_strength"], "\(what)")
                #expect(c.iteration == chkptIter[position], "\(what) iteration")
                #expect(c.valLoss == valLoss[position], "\(what) val_loss")
                #expect(!c.time.isEmpty, "\(what) time")
                #expect(c.resume == nil, "\(what): flyvis writes no resume state")
                // Adam: the groups own ids 0..<n in order, and each state entry has the shape of
                // the parameter it belongs to (network parameters, then decoder parameters).
                let optim = try #require(c.optim, "\(what) optim")
                var parameterShapes = c.network.names.map { c.network[$0]!.shape }
                for task in c.decoder.keys.sorted() {
                    let sd = c.decoder[task]!
                    parameterShapes += sd.names.filter { !$0.contains("running") && !$0.contains("num_batches") }.map { sd[$0]!.shape }
                }
                #expect(optim.groups.flatMap(\.params) == Array(0..<parameterShapes.count), "\(what) param ids")
                // Adam has state once a step was taken (the first checkpoint is the untrained one).
                #expect(optim.state.isEmpty == (c.iteration < 0), "\(what) Adam state")
                for (id, e) in optim.state {
                    #expect(e.expAvg.shape == parameterShapes[id] && e.expAvgSq.shape == parameterShapes[id], "\(what) state \(id)")
                    #expect(e.step >= 1, "\(what) state \(id) step")
                }
                #expect(c.activityOptim?.groups.count == 1, "\(what) activity_optim")
            }
        }
    }

    /// The best checkpoint of the fixture's member matches expected.h5 exactly: every array,
    /// shape and dtype, and nothing missing or extra; its top-level keys are flyvis's.
    @Test func bestCheckpointMatchesExpectedExactly() throws {
        let ref = try FlyvisResultsReference.expected()
        let (dir, index) = try FlyvisResultsReference.bestMember()
        #expect(try CheckpointSelector.best.resolve(in: dir) == index)
        let path = CheckpointStore(networkDirectory: dir).path(index: index).path
        let c = try CheckpointStore.read(path)
        let groups: [(String, StateDict)] = [("network", c.network)] + c.decoder.keys.sorted().map { ("decoder/\($0)", c.decoder[$0]!) }
        var compared = 0
        for (group, sd) in groups {
            let names = try ref.children(group)
            #expect(Set(names) == Set(sd.names), "\(group): names")
            for name in names {
                let key = "\(group)/\(name)"
                let a = try #require(sd[name], "\(key) missing")
                #expect(a.shape == (try ref.shape(key)), "\(key) shape")
                switch try ref.elementType(key) {
                case "float32": expectIdentical(a.floats ?? [], try ref.read(key, as: Float.self).values, key)
                case "int64": expectIdentical(a.int64s ?? [], try ref.read(key, as: Int64.self).values, key)
                case let t: Issue.record("\(key): unexpected reference dtype \(t)")
                }
                compared += 1
            }
        }
        #expect(
            compared == (try ref.children("network").count)
                + (try ref.children("decoder").map { try ref.children("decoder/\($0)").count }.reduce(0, +)))
        #expect(try ref.children("decoder") == c.decoder.keys.sorted())
        let keys = try TorchArchive.read(path: path).entries!.compactMap(\.key.string)
        #expect(keys.sorted() == (try ref.stringAttribute("checkpoint_keys")).split(separator: ",").map(String.init).sorted())
    }

    /// Simulating the fixture's member at `best` from its own `_meta.yaml` reproduces the
    /// activity flyvis computed (steady state over t_pre at the grey value, then the movie).
    @Test func simulatingBestMatchesFlyvisActivity() throws {
        let ref = try FlyvisResultsReference.expected()
        let (dir, index) = try FlyvisResultsReference.bestMember()
        let trained = try TrainedNetwork(directory: dir, checkpoint: .best)
        #expect(trained.checkpointIndex == index)
        #expect(trained.network.connectome.extent == Int(try ref.attribute("extent", as: Int64.self)))
        let lum = try ref.read("lum", as: Float.self)
        let expected = try ref.read("activity", as: Float.self)
        let (b, t) = (lum.shape[0], lum.shape[1])
        let dt = try ref.attribute("dt", as: Double.self)
        let steady = try #require(
            try trained.network.steadyState(
                tPre: try ref.attribute("t_pre", as: Double.self), dt: dt, batch: b,
                value: Float(try ref.attribute("grey_value", as: Double.self))))
        let result = try trained.network.simulate(movie: lum.values, batch: b, frames: t, dt: dt, initialState: .given(steady), nodes: .all)
        #expect(expected.shape == [b, t, result.nodes.count])
        let worst = maxAbsDiff(result.values, expected.values)
        #expect(worst <= 1e-5, "max |ours − flyvis| = \(worst) (\(result.values.count) values, flyvis \(expected.values.count))")
    }

    /// A flyvis checkpoint rewritten by us decodes to the same pickled object flyvis wrote
    /// (numpy scalars become Python floats of the same value), and our own files round-trip
    /// bit for bit.
    @Test func roundTripsAreBitIdentical() throws {
        let tmp = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let (dir, index) = try FlyvisResultsReference.bestMember()
        let flyvisPath = CheckpointStore(networkDirectory: dir).path(index: index).path
        let original = try CheckpointStore.read(flyvisPath)
        let first = tmp.appendingPathComponent("chkpt_00000"), second = tmp.appendingPathComponent("chkpt_00001")
        try CheckpointStore.write(original, to: first)
        let back = try CheckpointStore.read(first.path)
        #expect(back == original)
        #expect(try TorchArchive.read(path: first.path) == TorchArchive.read(path: flyvisPath))
        var ours = back
        ours.resume = ResumeState(dataRNG: [1, .max, 3, 4], dropoutRNG: ["flow": [9, 8, 7, 6]], epochsDone: 3, timeTrained: 12.5)
        try CheckpointStore.write(ours, to: first)
        #expect(try CheckpointStore.read(first.path) == ours)
        try CheckpointStore.write(try CheckpointStore.read(first.path), to: second)
        // The archive names its top folder after the file; compare with that name replaced.
        let a = try Data(contentsOf: first), b = try Data(contentsOf: second)
        #expect(a.count == b.count && !a.isEmpty)
        let renamed = b.replacing(Data("chkpt_00001/".utf8), with: Data("chkpt_00000/".utf8))
        #expect(renamed == a)
    }

    /// Damaged files are clear errors naming the file and what is wrong.
    @Test func damagedCheckpointsAreClearErrors() throws {
        let tmp = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let (dir, index) = try FlyvisResultsReference.bestMember()
        let good = try Data(contentsOf: CheckpointStore(networkDirectory: dir).path(index: index))
        let c = try CheckpointStore.read(CheckpointStore(networkDirectory: dir).path(index: index).path)

        func error(_ data: Data, _ name: String) throws -> String {
            let url = tmp.appendingPathComponent(name)
            try data.write(to: url)
            do {
                _ = try CheckpointStore.read(url.path)
                Issue.record("\(name) was read without an error")
                return ""
            } catch {
                #expect(error.description.contains(url.path), "\(name): \(error)")
                return error.description
            }
        }
        #expect(try error(good.prefix(good.count / 2), "truncated").contains("not a torch checkpoint"))
        // Flip bytes inside the stored nodes_bias storage: the CRC-32 check catches it.
        let bias = Data(c.network["nodes_bias"]!.floats!.withUnsafeBytes { Array($0) })
        var flipped = good
        let at = try #require(flipped.range(of: bias))
        flipped[at.lowerBound + 5] ^= 0xff
        #expect(try error(flipped, "crc").contains("CRC-32"))
        #expect(try error(Data("not a checkpoint".utf8), "text").contains("not a torch checkpoint"))

        // A well-formed archive whose pickle uses an opcode torch never writes (INT, 'I').
        let badPickle = tmp.appendingPathComponent("opcode")
        try writeArchive(badPickle, pickle: [0x80, 2, 0x49] + Array("1\n".utf8) + [0x2e])
        #expect(try error(try Data(contentsOf: badPickle), "opcode").contains("opcode 0x49"))
        // One that calls a function outside torch checkpoints.
        try writeArchive(badPickle, pickle: [0x80, 2, 0x63] + Array("os\nsystem\n".utf8) + [0x29, 0x52, 0x2e])
        #expect(try error(try Data(contentsOf: badPickle), "global").contains("os.system"))
    }

    /// An archive in torch's layout around an arbitrary pickle (to build malformed inputs).
    func writeArchive(_ url: URL, pickle: [UInt8]) throws {
        try? FileManager.default.removeItem(at: url)
        try TorchArchive.writeRaw(records: [("data.pkl", pickle), ("version", Array("3\n".utf8))], to: url.path, archiveName: "archive")
    }
}

/// Checkpoints in the HDF5 format of earlier flyvis-swift versions still load (runs started
/// before the switch resume). The file is built here from that format's description: flat
/// datasets, root attributes, and an FNV-1a checksum over sorted keys, shapes and payloads.
@Suite struct LegacyCheckpointTests {
    @Test func hdf5CheckpointsStillLoad() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("chkpt_00003").path
        let bias = (0..<65).map { Float($0) / 100 }
        let weight = (0..<(3 * 8 * 25)).map { Float($0) / 1000 }
        let floats: [String: ([Float], [Int])] = [
            "network/nodes_bias": (bias, [65]), "decoder/flow/decoder.0.weight": (weight, [3, 8, 5, 5]),
            "optim/state/0/exp_avg": (bias.map { $0 * 2 }, [65]),
            "optim/state/0/exp_avg_sq": (bias.map { $0 * 3 }, [65]),
        ]
        let doubles: [String: ([Double], [Int])] = [
            "optim/state/0/step": ([7], []), "optim/param_groups/lr": ([1e-4, 2e-4], [2]),
            "activity_optim/param_groups/lr": ([5e-5], []),
        ]
        let ints: [String: ([Int64], [Int])] = ["rng/data": ([1, 2, 3, -4], [4]), "solver/epochs_done": ([5], [])]
        let (iteration, valLoss, dt, time) = (Int64(29), 0.125, 0.02, "Tue Nov 24 19:45:47 2026")
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ bytes: [UInt8]) { for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 } }
        func le<T>(_ v: [T]) -> [UInt8] { v.withUnsafeBytes { Array($0) } }
        let f = try HDF5File(path: path, mode: .truncate)
        for key in (Array(floats.keys) + Array(doubles.keys) + Array(ints.keys)).sorted() {
            mix(Array(key.utf8))
            if let (v, s) = floats[key] { mix(le(s.map(Int64.init))); mix(le(v)); try f.write(key, v, shape: s) }
            if let (v, s) = doubles[key] { mix(le(s.map(Int64.init))); mix(le(v)); try f.write(key, v, shape: s) }
            if let (v, s) = ints[key] { mix(le(s.map(Int64.init))); mix(le(v)); try f.write(key, v, shape: s) }
        }
        mix(le([iteration])); mix(le([valLoss.bitPattern])); mix(le([dt.bitPattern])); mix(Array(time.utf8))
        try f.setAttribute("iteration", iteration)
        try f.setAttribute("val_loss", valLoss)
        try f.setAttribute("dt", dt)
        try f.setAttribute("time", string: time)
        try f.setAttribute("checksum", Int64(bitPattern: h))
        try f.close()

        let c = try CheckpointStore.read(path)
        #expect(c.network["nodes_bias"] == .float(bias, shape: [65]))
        #expect(c.decoder["flow"]?["decoder.0.weight"] == .float(weight, shape: [3, 8, 5, 5]))
        #expect(c.iteration == 29 && c.valLoss == valLoss && c.dt == dt && c.time == time)
        #expect(c.optim?.groups.map(\.lr) == [1e-4, 2e-4])
        #expect(c.optim?.state[0]?.step == 7 && c.optim?.state[0]?.expAvg == .float(bias.map { $0 * 2 }, shape: [65]))
        #expect(c.activityOptim?.groups.first?.lr == 5e-5)
        #expect(c.resume?.dataRNG == [1, 2, 3, UInt64(bitPattern: -4)] && c.resume?.epochsDone == 5)

        // A flipped value no longer matches the stored checksum.
        let g = try HDF5File(path: path, mode: .readWrite)
        try g.write("network/nodes_bias", bias.map { $0 + 1 }, shape: [65])
        try g.close()
        #expect(throws: ResultsError.corruptCheckpoint(path: path, reason: "checksum mismatch")) { _ = try CheckpointStore.read(path) }
    }
}
