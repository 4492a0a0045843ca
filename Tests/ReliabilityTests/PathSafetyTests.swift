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
