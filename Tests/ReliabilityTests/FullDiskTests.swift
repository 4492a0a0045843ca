import FlyvisBase
import FlyvisEnsemble
import FlyvisHDF5
import FlyvisResults
import FlyvisTestSupport
import Foundation
import Testing

/// A tmpfs of `kilobytes` mounted on a fresh directory, or nil where mounting is refused (not
/// root, or no mount permission in the container; the suite is then skipped, see `canMount`).
final class SmallDisk {
    /// Whether this process may mount a tmpfs: tried once with a small one.
    static let canMount: Bool = SmallDisk(kilobytes: 64) != nil

    let url: URL

    init?(kilobytes: Int) {
        guard let dir = try? temporaryDirectory("tmpfs") else { return nil }
        url = dir
        let r = SmallDisk.sh(["mount", "-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", dir.path])
        guard r == 0 else {
            try? FileManager.default.removeItem(at: dir)
            return nil
        }
    }

    func resize(kilobytes: Int) -> Bool {
        SmallDisk.sh(["mount", "-o", "remount,size=\(kilobytes)k", url.path]) == 0
    }

    deinit {
        _ = SmallDisk.sh(["umount", url.path])
        try? FileManager.default.removeItem(at: url)
    }

    static func sh(_ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
}

/// A full disk is one clear line and never a crash, and leaves every history consistent with
/// the checkpoints. Skipped (and shown as skipped) where a tmpfs cannot be mounted.
@Suite(.serialized, .enabled(if: SmallDisk.canMount, "mounting a tmpfs needs root")) struct FullDiskTests {
    static let member = "results/flow/0007/000"
    static func args(_ root: URL) -> [String] {
        ["train-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=0007/000", "task.n_iters=12"] + Tiny.base
    }

    /// The sizes hit the data cache, the first checkpoint's histories, the checkpoint file and
    /// later checkpoints (a complete run needs about 1.6 MB).
    @Test(arguments: [300, 600, 900, 1100, 1300, 1400])
    func trainSingleOnAFullDisk(kilobytes: Int) throws {
        let disk = try #require(SmallDisk(kilobytes: kilobytes))
        let r = try runFlyvis(Self.args(disk.url))
        #expect(r.status != 0, "the disk is too small for this run: \(r.output)")
        #expect(!r.signaled && r.shellStatus != 134 && r.shellStatus != 139, "crashed: \(r.shellStatus)\n\(r.stderr)")
        let errorLines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("[") }
        #expect(errorLines.count == 1, "one error line, got:\n\(r.stderr)")
        let line = String(errorLines.first ?? "")
        #expect(line.contains("no space left on device while writing '\(disk.url.path)/"), "\(line)")
        #expect(line.hasSuffix("; free space and rerun with resume=true"), "\(line)")
        #expect(!r.stderr.contains("H5F") && !r.stderr.contains("HDF5-DIAG"), "no HDF5 error stack")
        try Self.checkConsistent(disk.url.appendingPathComponent(Self.member))

        // The advice works: with space, the rerun completes and the histories still agree.
        #expect(disk.resize(kilobytes: 8192))
        let again = try runFlyvis(Self.args(disk.url) + ["resume=true"])
        #expect(again.status == 0, "\(again.output)")
        try Self.checkConsistent(disk.url.appendingPathComponent(Self.member))
        #expect(
            try ResultsDirectory(disk.url.appendingPathComponent(Self.member)).read(ResultsSchema.loss, as: Double.self).values.count >= 12,
            "trained to the end")
    }

    /// chkpt_index is 0..n−1, and every per-checkpoint history has n entries, one per
    /// checkpoint file; no temporary or backup file is left.
    static func checkConsistent(_ dir: URL, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let d = ResultsDirectory(dir)
        let fm = FileManager.default
        let leftovers = (fm.enumerator(atPath: dir.path)?.allObjects as? [String] ?? [])
            .filter { ($0 as NSString).lastPathComponent.hasPrefix(".") && !$0.hasSuffix(MemberLock.fileName) }
        #expect(leftovers.isEmpty, "left behind: \(leftovers)", sourceLocation: sourceLocation)
        let checkpoints = CheckpointStore(networkDirectory: d).indices()
        guard d.contains(ResultsSchema.chkptIndex) else {
            #expect(checkpoints.isEmpty, "checkpoint files without chkpt_index", sourceLocation: sourceLocation)
            for sub in ResultsSchema.Split.allCases.map(\.folder) {
                #expect(
                    !d.subdirectory(sub).contains(ResultsSchema.loss), "\(sub)/loss without chkpt_index", sourceLocation: sourceLocation)
            }
            return
        }
        let index = try d.read(ResultsSchema.chkptIndex, as: Int64.self).values
        let n = index.count
        #expect(index == (0..<Int64(n)).map { $0 }, "chkpt_index \(index)", sourceLocation: sourceLocation)
        #expect(checkpoints == Array(0..<n), "checkpoint files \(checkpoints) for chkpt_index \(index)", sourceLocation: sourceLocation)
        #expect(try d.read(ResultsSchema.chkptIter, as: Int64.self).values.count == n, sourceLocation: sourceLocation)
        for sub in ResultsSchema.Split.allCases.map(\.folder) {
            let v = d.subdirectory(sub)
            for key in ["loss", "loss_flow"] {
                #expect(try v.read(key, as: Double.self).values.count == n, "\(sub)/\(key)", sourceLocation: sourceLocation)
            }
            #expect(try v.read("iteration", as: Int64.self).values.count == n, "\(sub)/iteration", sourceLocation: sourceLocation)
        }
        let best = try d.read(ResultsSchema.bestChkptIndex, as: Int64.self).values[0]
        #expect(best >= 0 && best < n, sourceLocation: sourceLocation)
        // Per-iteration histories reach exactly the last checkpoint's iteration.
        let lastIteration = try d.read(ResultsSchema.chkptIter, as: Int64.self).values.last! + 1
        let losses = d.contains(ResultsSchema.loss) ? try d.read(ResultsSchema.loss, as: Double.self).values : []
        #expect(losses.count == Int(lastIteration), sourceLocation: sourceLocation)
    }

    /// A multi-rank ensemble whose summary meets a full disk (the members trained; then the
    /// disk filled up and the job was rerun): one clear line, exit 1 on every rank, no crash
    /// in libhdf5 or at MPI_Finalize, no rank left waiting, the previous summary kept whole.
    @Test func ensembleSummaryOnAFullDisk() throws {
        let disk = try #require(SmallDisk(kilobytes: 24 * 1024))
        let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "mpirun"
        let job =
            [
                "-k", "10", "300", mpirun, "--allow-run-as-root", "--oversubscribe", "-n", "2", flyvisBinary,
                "--ensemble-id", "3", "--start", "0", "--end", "2", "--root", disk.url.path, "--skip-validation",
            ]
            + Tiny.base + ["task.n_iters=4"]
        let first = try runProcess("/usr/bin/timeout", job)
        try #require(first.status == 0, "\(first.output.suffix(3000))")
        let summary = disk.url.appendingPathComponent("results/flow/0003/\(ResultsSchema.ensembleSummary)")
        let before = try Data(contentsOf: summary)

        let fd = open(disk.url.appendingPathComponent("filler").path, O_WRONLY | O_CREAT, 0o644)
        let block = [UInt8](repeating: 1, count: 4096)
        while write(fd, block, block.count) > 0 {}
        close(fd)
        let again = try runProcess("/usr/bin/timeout", job)
        #expect(again.status == 1, "exit status \(again.status) (124 = hung until the timeout)\n\(again.output.suffix(3000))")
        #expect(!again.signaled && again.shellStatus != 134 && again.shellStatus != 139, "crashed: \(again.shellStatus)")
        #expect(again.stderr.contains("no space left on device while writing '\(disk.url.path)/"), "\(again.stderr.suffix(2000))")
        #expect(
            !again.output.contains("HDF5-DIAG") && !again.output.contains("MPI_ABORT") && !again.output.contains("Segmentation"),
            "\(again.output.suffix(2000))")
        #expect(try Data(contentsOf: summary) == before, "the previous summary is kept whole")
    }

    /// An ensemble member that stops for lack of space is not a deterministic failure: the job
    /// says to free space and rerun the same command, and that plain rerun (no --retry-failed)
    /// continues the member to the end.
    @Test(arguments: [900, 1600])
    func ensembleRerunAfterAFullDiskContinues(kilobytes: Int) throws {
        let disk = try #require(SmallDisk(kilobytes: kilobytes))
        let job =
            ["--ensemble-id", "3", "--start", "0", "--end", "1", "--root", disk.url.path, "--skip-validation"]
            + Tiny.base + ["task.n_iters=12"]
        let full = try runFlyvis(job)
        #expect(full.status == 1 && !full.signaled, "exit status \(full.shellStatus)\n\(full.output.suffix(2000))")
        #expect(full.output.contains("no space left on device while writing '\(disk.url.path)/"), "\(full.output.suffix(2000))")
        #expect(full.stdout.contains("Free disk space, then rerun this same command"), "\(full.stdout.suffix(2000))")
        let member = disk.url.appendingPathComponent("results/flow/0003/000")
        try Self.checkConsistent(member)

        #expect(disk.resize(kilobytes: 8192))
        let again = try runFlyvis(job)
        #expect(again.status == 0, "\(again.output.suffix(2000))")
        #expect(MemberStatus.read(from: ResultsDirectory(member))?.state == .finished)
        try Self.checkConsistent(member)
        #expect(try ResultsDirectory(member).read(ResultsSchema.loss, as: Double.self).values.count >= 12, "trained to the end")
    }

    /// In process: a history append that does not fit keeps the old file, removes its
    /// temporary and says so in one line; so do text files and HDF5 files written directly.
    @Test func failedAppendKeepsTheOldFile() throws {
        let disk = try #require(SmallDisk(kilobytes: 256))
        let d = ResultsDirectory(disk.url.appendingPathComponent("m"))
        try d.extend(ResultsSchema.chkptIndex, [Int64(0)])
        try d.extend(ResultsSchema.chkptIndex, [Int64(1)])
        try AtomicFile.write(d.url.appendingPathComponent("notes.txt"), text: "old")
        // Fill the disk.
        let filler = disk.url.appendingPathComponent("filler").path
        let fd = open(filler, O_WRONLY | O_CREAT, 0o644)
        let block = [UInt8](repeating: 1, count: 4096)
        while write(fd, block, block.count) > 0 {}
        close(fd)

        #expect(throws: FileWriteError.noSpace(path: d.file(ResultsSchema.chkptIndex).path, quota: false)) {
            try d.extend(ResultsSchema.chkptIndex, [Int64(2)])
        }
        #expect(try d.read(ResultsSchema.chkptIndex, as: Int64.self).values == [0, 1])
        #expect(throws: FileWriteError.noSpace(path: d.url.appendingPathComponent("notes.txt").path, quota: false)) {
            try AtomicFile.write(d.url.appendingPathComponent("notes.txt"), text: String(repeating: "new", count: 10_000))
        }
        #expect(try String(contentsOf: d.url.appendingPathComponent("notes.txt"), encoding: .utf8) == "old")
        let direct = disk.url.appendingPathComponent("direct.h5").path
        do {
            let f = try HDF5File(path: direct, mode: .truncate)
            try f.write("data", [Double](repeating: 1, count: 100_000), shape: [100_000])
            try f.close()
            Issue.record("writing 800 kB to a full disk must fail")
        } catch {
            #expect(error == HDF5Error.noSpace(file: direct, quota: false))
            #expect(error.description == "no space left on device while writing '\(direct)'; free space and rerun with resume=true")
        }
        #expect(!FileManager.default.fileExists(atPath: direct), "no partial file")
        let hidden = try FileManager.default.contentsOfDirectory(atPath: d.path).filter { $0.hasPrefix(".") }
        #expect(hidden.isEmpty, "temporaries removed: \(hidden)")
    }
}
