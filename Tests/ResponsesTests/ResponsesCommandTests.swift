import FlyvisHDF5
import FlyvisResults
import FlyvisTestSupport
import Foundation
import Testing

/// `flyvis-ensemble responses` on an ensemble flyvis trained itself (the extent-15 reference
/// tree), under real `mpirun`: the files, their coordinates, and member 000's responses and
/// tuning against flyvis's own analysis of it.
@Suite(.serialized) struct ResponsesCommandTests {
    static var available: Bool {
        FileManager.default.fileExists(atPath: Fixtures.responses.path)
            && FileManager.default.fileExists(atPath: Fixtures.resultsE15.appendingPathComponent("flow/9995/000").path)
    }

    static func mpirun(ranks: Int, _ arguments: [String]) throws -> ProcessOutcome {
        let launcher = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "mpirun"
        return try runProcess(
            launcher, ["--allow-run-as-root", "--oversubscribe", "-n", "\(ranks)", productPath("flyvis-ensemble")] + arguments)
    }

    /// A copy of the reference ensemble under a fresh root, with member 000 copied once more as
    /// 002, so that three members run on two ranks.
    static func ensemble() throws -> (root: URL, ensemble: URL) {
        let root = try temporaryDirectory()
        let ens = root.appendingPathComponent("results/flow/9995")
        try FileManager.default.createDirectory(at: ens.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Fixtures.resultsE15.appendingPathComponent("flow/9995"), to: ens)
        try FileManager.default.copyItem(at: ens.appendingPathComponent("000"), to: ens.appendingPathComponent("002"))
        // The fixture's files are read-only; the copy must be writable for the test's own damage.
        _ = try runProcess("/bin/chmod", ["-R", "u+w", root.path])
        return (root, ens)
    }

    /// The reference file's subset: its moving edges' angles and speeds.
    static let subset = ["--angles", "0,90,180,270", "--speeds", "19,25"]

    @Test(.enabled(if: available)) func threeMembersOnTwoRanksMatchFlyvis() throws {
        let (root, ens) = try Self.ensemble()
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try Self.mpirun(ranks: 2, ["responses", ens.path, "--progress-interval", "0"] + Self.subset)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let out = ens.appendingPathComponent("responses")
        let ref = try Fixtures.open(Fixtures.responses)
        for group in ["flashes", "moving_edge"] {
            let f = try HDF5File(path: out.appendingPathComponent("\(group).h5").path, mode: .readOnly)
            #expect(try f.readStrings("member") == ["000", "001", "002"])
            let best = try ["000", "001", "002"].map {
                Int64(try CheckpointSelector.best.resolve(in: ResultsDirectory(ens.appendingPathComponent($0))))
            }
            #expect(best[0] == 3, "the reference's best checkpoint of member 000 is chkpt_00003")
            #expect(try f.read("checkpoint", as: Int64.self).values == best)
            let ours: HDF5Array<Float> = try f.read("responses")
            let theirs: HDF5Array<Float> = try ref.read("\(group)/responses")
            #expect(ours.shape.count == 4 && ours.shape[0] == 3 && Array(ours.shape.dropFirst()) == Array(theirs.shape.dropFirst()))
            #expect(try f.readStrings("cell_type") == (try ref.readStrings("\(group)/cell_type")))
            #expect(maxAbsDiff(try f.read("time", as: Double.self).values, try ref.read("\(group)/time", as: Double.self).values) < 1e-12)
            for name in try ref.children(group) where name.hasPrefix("sample_") {
                #expect(try f.read(name, as: Double.self).values == (try ref.read("\(group)/\(name)", as: Double.self).values), "\(name)")
            }
            // Members 000 and 002 are the same model: flyvis's responses, NaN where flyvis's are.
            let n = theirs.values.count
            let scale = theirs.values.filter(\.isFinite).map(abs).max() ?? 0
            for m in [0, 2] {
                let mine = Array(ours.values[(m * n)..<((m + 1) * n)])
                let nanAgree = zip(mine, theirs.values).allSatisfy { $0.isNaN == $1.isNaN }
                #expect(nanAgree, "member \(m) \(group): NaN pattern")
                let worst = zip(mine, theirs.values).filter { !$0.isNaN && !$1.isNaN }.map { abs($0 - $1) }.max() ?? .infinity
                #expect(worst <= 1e-5 * scale, "member \(m) \(group): max diff \(worst), scale \(scale)")
            }
        }
        // The tuning indices against flyvis's, for members 000 and 002.
        let t = try HDF5File(path: out.appendingPathComponent("tuning.h5").path, mode: .readOnly)
        #expect(try t.readStrings("member") == ["000", "001", "002"])
        let c = try ref.readStrings("flashes/cell_type").count
        for (ours, theirs) in [("fri_radius_6", "flashes/fri_radius_6"), ("fri_radius_-1", "flashes/fri_radius_-1")] {
            let a = try t.read(ours, as: Double.self).values
            let b = try ref.read(theirs, as: Double.self).values
            #expect(a.count == 3 * c)
            #expect(maxAbsDiff(Array(a.prefix(c)), b) <= 1e-5, "\(ours)")
            #expect(maxAbsDiff(Array(a.suffix(c)), b) <= 1e-5, "\(ours) member 002")
        }
        let dsi = try t.read("dsi", as: Double.self).values
        let refDSI = try ref.read("moving_edge/dsi", as: Double.self).values
        #expect(maxAbsDiff(Array(dsi.prefix(refDSI.count)), refDSI) <= 1e-5)
        let friCorr = try t.read("fri_correlation_to_known", as: Double.self).values
        let dsiCorr = try t.read("dsi_correlation_to_known", as: Double.self).values
        #expect(abs(friCorr[0] - (try ref.read("flashes/fri_correlation_to_known", as: Double.self).values[0])) <= 1e-5)
        #expect(abs(dsiCorr[0] - (try ref.readScalar("moving_edge/dsi_correlation_to_known", as: Double.self))) <= 1e-5)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("tuning.txt").path))
        // Nothing else in the folder: no temporaries left.
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(names == ["flashes.h5", "moving_edge.h5", "tuning.h5", "tuning.txt"])
    }

    /// A damaged checkpoint on one rank's member ends every rank with one line, and no file.
    @Test(.enabled(if: available)) func damagedCheckpointEndsEveryRankWithoutFiles() throws {
        let (root, ens) = try Self.ensemble()
        defer { try? FileManager.default.removeItem(at: root) }
        // Member 001 is rank 1's; its best checkpoint becomes garbage.
        let best = ens.appendingPathComponent("001/chkpts")
        for name in try FileManager.default.contentsOfDirectory(atPath: best.path) {
            try Data("not a checkpoint".utf8).write(to: best.appendingPathComponent(name))
        }
        let r = try Self.mpirun(ranks: 2, ["responses", ens.path, "--stimuli", "flashes"])
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        let lines = r.stderr.split(separator: "\n").filter { $0.lowercased().contains("error:") }
        #expect(lines.count == 2, "one line per rank: \(r.stderr)")
        #expect(lines.allSatisfy { $0.contains("001") }, "\(r.stderr)")
        let out = ens.appendingPathComponent("responses")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        #expect(names.isEmpty, "no file, no temporary: \(names)")
    }

    /// Whether this process may mount a tmpfs (root in a container that allows it).
    static let canMount: Bool = {
        guard let dir = try? temporaryDirectory("tmpfs-probe") else { return false }
        defer { try? FileManager.default.removeItem(at: dir) }
        guard (try? runProcess("/usr/bin/env", ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir.path]))?.status == 0
        else { return false }
        _ = try? runProcess("/usr/bin/env", ["umount", dir.path])
        return true
    }()

    /// A disk too small for the responses: every rank ends with one line naming the space
    /// needed, before any collective write, and no file or temporary is left.
    @Test(.enabled(if: available && canMount, "needs the reference tree and a tmpfs mount (root)"))
    func fullDiskEndsEveryRankWithoutFiles() throws {
        let (root, ens) = try Self.ensemble()
        defer { try? FileManager.default.removeItem(at: root) }
        let out = ens.appendingPathComponent("responses")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        #expect(try runProcess("/usr/bin/env", ["mount", "-t", "tmpfs", "-o", "size=1024k", "tmpfs", out.path]).status == 0)
        defer { _ = try? runProcess("/usr/bin/env", ["umount", out.path]) }
        let r = try Self.mpirun(ranks: 2, ["responses", ens.path] + Self.subset)
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        let lines = r.stderr.split(separator: "\n").filter { $0.lowercased().contains("error:") }
        #expect(lines.count == 2, "one line per rank: \(r.stderr)")
        #expect(lines.allSatisfy { $0.contains("not enough space") }, "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
    }
}
