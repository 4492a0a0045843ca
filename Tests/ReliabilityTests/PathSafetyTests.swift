import FlyvisConfig
import FlyvisResults
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisSolver

/// Hostile or mistyped names never write or delete outside `<root>/results`.
@Suite(.serialized) struct PathSafetyTests {
    @Test func namesAreValidatedInFlyvisForm() throws {
        for ok in ["flow", "depth", "flow_depth", "task-2", "v1.2"] { try NetworkPath.validateTaskName(ok) }
        for bad in ["", ".", "..", "../../x", "a/b", "/abs", ".hidden", "-rf", "x\0y"] {
            #expect(throws: PathError.invalidTaskName(bad)) { try NetworkPath.validateTaskName(bad) }
        }
        for ok in ["0000/000", "0045/003", "9999/999"] { try NetworkPath.validateNetworkID(ok) }
        for bad in [
            "0001", "..", "../../../victim", "0001/", "/000", "1/2", "00001/000", "0001/0001", "0001/00a",
            "0001/000/x", "0001/../000", "٠٠٠١/٠٠٠",
        ] {
            #expect(throws: PathError.invalidNetworkID(bad)) { try NetworkPath.validateNetworkID(bad) }
        }
        // The message shows the expected form.
        #expect(PathError.invalidNetworkID("0001").description.contains("EEEE/NNN"))
        #expect(PathError.invalidNetworkID("0001").description.contains("0045/003"))
    }

    @Test func resolvedPathsStayInsideTheResultsFolder() throws {
        let root = URL(fileURLWithPath: "/data/root")
        #expect(try NetworkPath.resolve(root: root, networkName: "flow/0001/000").path == "/data/root/results/flow/0001/000")
        for bad in ["../x", "flow/../../x", "/etc", "flow//0001", "flow/./0001", ""] {
            #expect(throws: PathError.self) { _ = try NetworkPath.resolve(root: root, networkName: bad) }
        }
        #expect(throws: PathError.self) {
            try NetworkPath.checkInside(URL(fileURLWithPath: "/data/root/results"), results: root.appendingPathComponent("results"))
        }
        #expect(throws: PathError.self) {
            try NetworkPath.checkInside(URL(fileURLWithPath: "/data/root/resultsX/a"), results: root.appendingPathComponent("results"))
        }
    }

    /// The reported cases: an id that climbs out of the root, one missing the member part, and
    /// `..`, each with delete_if_exists=true; and a task name that climbs out.
    @Test func escapingNamesDeleteAndWriteNothing() throws {
        let top = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: top) }
        let root = top.appendingPathComponent("root")
        let victim = top.appendingPathComponent("victim")
        try makeNetworkDirectory(victim, files: ["precious.txt"])  // even a NetworkDir outside the root
        let ensemble = root.appendingPathComponent("results/flow/0001")
        try makeNetworkDirectory(ensemble.appendingPathComponent("000"))
        try makeNetworkDirectory(ensemble.appendingPathComponent("001"))
        let before = try snapshotTree(top)

        for id in ["../../../../victim", "../../../victim", "0001", "..", "../0001/000"] {
            #expect(throws: PathError.invalidNetworkID(id)) {
                _ = try Tiny.solver(root: root, ["task_name=flow", "ensemble_and_network_id=\(id)", "delete_if_exists=true"])
            }
        }
        for task in ["../../x", "..", "../victim", "flow/0001"] {
            #expect(throws: PathError.invalidTaskName(task)) {
                _ = try Tiny.solver(root: root, ["task_name=\(task)", "ensemble_and_network_id=0001/000", "delete_if_exists=true"])
            }
        }
        // network_name set directly is checked too.
        #expect(throws: PathError.self) {
            _ = try Tiny.solver(
                root: root,
                [
                    "task_name=flow", "ensemble_and_network_id=0001/000", "network_name=../../victim",
                    "delete_if_exists=true",
                ])
        }
        #expect(try snapshotTree(top) == before, "nothing was created, changed or deleted")
    }

    @Test func deleteIfExistsDeletesOnlyANetworkDirectory() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        // Not a network directory (no _meta.yaml of type NetworkDir): refused, left alone.
        let foreign = root.appendingPathComponent("results/flow/0002/000")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: foreign.appendingPathComponent("notes.txt"))
        #expect(throws: PathError.notNetworkDirectory(path: foreign.path)) {
            _ = try Tiny.solver(root: root, ["task_name=flow", "ensemble_and_network_id=0002/000", "delete_if_exists=true"])
        }
        #expect(FileManager.default.fileExists(atPath: foreign.appendingPathComponent("notes.txt").path))
        #expect(
            !FileManager.default.fileExists(atPath: foreign.appendingPathComponent(MemberLock.fileName).path),
            "nothing is written into a refused directory")

        // A network directory: emptied and reused; its parent and siblings stay.
        let member = root.appendingPathComponent("results/flow/0003/000")
        let sibling = root.appendingPathComponent("results/flow/0003/001")
        try makeNetworkDirectory(member, files: ["old.h5"])
        try makeNetworkDirectory(sibling)
        let s = try Tiny.solver(root: root, ["task_name=flow", "ensemble_and_network_id=0003/000", "delete_if_exists=true"])
        #expect(s.directory.path == member.standardizedFileURL.path)
        #expect(!FileManager.default.fileExists(atPath: member.appendingPathComponent("old.h5").path))
        #expect(NetworkPath.isNetworkDirectory(member), "the new run's _meta.yaml")
        #expect(FileManager.default.fileExists(atPath: sibling.appendingPathComponent("loss.h5").path))
    }

    @Test func aFileWhereAFolderBelongsIsNamed() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let blocker = root.appendingPathComponent("results/flow")
        try FileManager.default.createDirectory(at: blocker.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("not a folder".utf8).write(to: blocker)
        do {
            _ = try Tiny.solver(root: root, ["task_name=flow", "ensemble_and_network_id=0004/000"])
            Issue.record("a file in the path must be refused")
        } catch {
            #expect("\(error)".contains("'\(blocker.path)' exists but is not a directory"), "\(error)")
        }
    }

    /// The binary refuses before doing anything, with the message on stderr.
    @Test func trainSingleRefusesAnEscapingIDWithAClearMessage() throws {
        let top = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: top) }
        let victim = top.appendingPathComponent("victim")
        try makeNetworkDirectory(victim)
        let r = try runFlyvis(
            [
                "train-single", "--root", top.appendingPathComponent("root").path, "task_name=flow",
                "ensemble_and_network_id=../../../victim", "delete_if_exists=true", "task.n_iters=3",
            ] + Tiny.base)
        #expect(r.status != 0 && !r.signaled)
        #expect(r.stderr.contains("is not of the form EEEE/NNN"), "\(r.output)")
        #expect(FileManager.default.fileExists(atPath: victim.appendingPathComponent("loss.h5").path))
        #expect(!FileManager.default.fileExists(atPath: top.appendingPathComponent("root/results").path))
    }
}

/// Every path below `dir` with its size, to compare before and after.
func snapshotTree(_ dir: URL) throws -> [String: Int] {
    var out: [String: Int] = [:]
    let fm = FileManager.default
    guard let e = fm.enumerator(atPath: dir.path) else { return out }
    while let rel = e.nextObject() as? String {
        let attrs = try fm.attributesOfItem(atPath: dir.appendingPathComponent(rel).path)
        out[rel] = (attrs[.size] as? Int) ?? -1
    }
    return out
}

/// Symlinks inside the root are resolved before anything is written: a results, task,
/// ensemble or member directory (or a member's chkpts/validation folder) that links out of
/// `<root>/results` is refused, and nothing is written or deleted there.
@Suite(.serialized) struct SymlinkTests {
    @Test(arguments: ["task", "ensemble", "member", "validation"])
    func symlinkOutOfTheRootIsRefused(level: String) throws {
        let root = try temporaryDirectory(), outside = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root); try? FileManager.default.removeItem(at: outside) }
        try "keep me".write(to: outside.appendingPathComponent("precious.txt"), atomically: true, encoding: .utf8)
        let results = root.appendingPathComponent("results")
        let link: URL
        switch level {
        case "task": link = results.appendingPathComponent("flow")
        case "ensemble": link = results.appendingPathComponent("flow/0001")
        case "member": link = results.appendingPathComponent("flow/0001/000")
        default: link = results.appendingPathComponent("flow/0001/000/validation")
        }
        try FileManager.default.createDirectory(at: link.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: outside)
        let before = snapshot(outside)
        let single = try runFlyvis(
            [
                "train-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=0001/000",
                "task.n_iters=9", "delete_if_exists=true",
            ] + Tiny.base)
        #expect(single.status == 1 && !single.signaled, "\(single.output.suffix(1500))")
        #expect(single.stderr.contains("resolves to"), "\(single.stderr.suffix(1500))")
        let ensemble = try runFlyvis(
            ["--ensemble-id", "1", "--start", "0", "--end", "1", "--root", root.path, "task.n_iters=9"] + Tiny.base)
        #expect(ensemble.status == 1 && !ensemble.signaled, "\(ensemble.output.suffix(1500))")
        #expect(ensemble.output.contains("resolves to"), "\(ensemble.output.suffix(1500))")
        #expect(snapshot(outside) == before, "nothing written or deleted outside the root: \(snapshot(outside).keys.sorted())")
    }

    /// A symlink that stays inside the results folder (e.g. results itself on scratch space,
    /// or an ensemble linked to another one) is fine.
    @Test func symlinkInsideTheResultsIsFollowed() throws {
        let root = try temporaryDirectory(), scratch = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root); try? FileManager.default.removeItem(at: scratch) }
        try FileManager.default.createSymbolicLink(at: root.appendingPathComponent("results"), withDestinationURL: scratch)
        let r = try runFlyvis(
            [
                "train-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=0001/000",
                "task.n_iters=9", "--skip-validation",
            ] + Tiny.base)
        #expect(r.status == 0, "\(r.output.suffix(1500))")
        #expect(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("flow/0001/000/chkpts/chkpt_00001").path))
    }

    /// `chkpts` that is a file is named as such, before training (it was NSCocoaErrorDomain 516).
    @Test func checkpointFolderThatIsAFileIsNamed() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = root.appendingPathComponent("results/flow/0001/000")
        try FileManager.default.createDirectory(at: member, withIntermediateDirectories: true)
        try "x".write(to: member.appendingPathComponent("chkpts"), atomically: true, encoding: .utf8)
        let r = try runFlyvis(
            [
                "train-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=0001/000",
                "task.n_iters=9",
            ] + Tiny.base)
        #expect(r.status == 1 && !r.signaled, "\(r.output.suffix(1500))")
        #expect(r.stderr.contains("\(member.path)/chkpts' exists but is not a directory"), "\(r.stderr.suffix(1500))")
        #expect(!r.stderr.contains("NSCocoaErrorDomain"))
    }
}
