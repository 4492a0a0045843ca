import FlyvisResults
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisSolver

/// A member's `_meta.yaml` defines it (extent, task, training length). When it cannot be read,
/// every command that would use it stops with an error naming the file, and writes nothing:
/// falling back to the defaults once validated an extent-4 member as an extent-15 network and
/// overwrote its validation results, and a resume rewrote its config.
@Suite(.serialized) struct StoredConfigTests {
    static let id = ["task_name=flow", "ensemble_and_network_id=0001/000"]

    /// A trained, validated extent-4 member under a fresh root.
    static func trainedMember() throws -> (root: URL, member: URL) {
        let root = try temporaryDirectory("storedConfig")
        let r = try runFlyvis(["train-single", "--root", root.path] + id + Tiny.base + ["task.n_iters=4"])
        #expect(r.status == 0, "\(r.stderr)")
        return (root, root.appendingPathComponent("results/flow/0001/000"))
    }

    /// Every file under `dir` with its content (the lock file aside: taking it is
    /// how a command learns the member is free).
    static func contents(_ dir: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let fm = FileManager.default
        guard let e = fm.enumerator(atPath: dir.path) else { return out }
        while let rel = e.nextObject() as? String {
            let url = dir.appendingPathComponent(rel)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue,
                !rel.hasSuffix(ResultsSchema.lock)
            else { continue }
            out[rel] = try Data(contentsOf: url)
        }
        return out
    }

    enum Damage: CaseIterable { case invalidUTF8, missing, empty }

    static func damage(_ member: URL, _ how: Damage) throws {
        let meta = member.appendingPathComponent(ResultsSchema.meta)
        switch how {
        case .invalidUTF8:
            var data = try Data(contentsOf: meta)
            data.insert(0xFF, at: data.count / 2)
            try data.write(to: meta)
        case .missing: try FileManager.default.removeItem(at: meta)
        case .empty: try Data().write(to: meta)
        }
    }

    @Test(arguments: Damage.allCases) func everyCommandRefusesAndWritesNothing(_ how: Damage) throws {
        let (root, member) = try Self.trainedMember()
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.damage(member, how)
        let before = try Self.contents(member)
        #expect(before.count > 10, "the trained member should hold its results")

        let commands: [[String]] = [
            ["val-single", "--root", root.path] + Self.id,
            ["train-single", "--root", root.path] + Self.id + ["resume=true"],
            ["train-single", "--root", root.path] + Self.id + ["resume=true", "task.n_iters=8"],
        ]
        for command in commands {
            let r = try runFlyvis(command)
            #expect(r.status == 1, "\(command[0]) should fail with status 1, got \(r.status): \(r.stderr)")
            #expect(!r.signaled)
            #expect(r.stderr.contains(member.appendingPathComponent(ResultsSchema.meta).path), "\(r.stderr)")
            #expect(r.stderr.contains("cannot be read"), "\(r.stderr)")
        }
        // simulate reads the same file to build the network.
        let r = try runFlyvis([
            "simulate", "--network-dir", member.path, "--stimulus", "/nonexistent.h5",
            "--out", root.appendingPathComponent("out.h5").path,
        ])
        #expect(r.status == 1 && r.stderr.contains("cannot be read"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("out.h5").path))

        #expect(try Self.contents(member) == before, "a command wrote into the member")
    }

    /// The ensemble path: a member's solver opened with resume refuses the same way.
    @Test func resumedSolverRefusesUnreadableConfig() throws {
        let (root, member) = try Self.trainedMember()
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.damage(member, .invalidUTF8)
        #expect(throws: ResultsError.self) {
            _ = try Tiny.solver(root: root, Self.id + ["task.n_iters=4"], resume: true)
        }
        #expect(throws: ResultsError.self) {
            _ = try MultiTaskSolver.resolveConfig(overrides: Self.id + ["resume=true"], root: root)
        }
    }

    /// A directory without a member yet is still a new run: no config to read, no error.
    @Test func newDirectoryHasNoStoredConfig() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("results/flow/0001/000")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        #expect(try ResultsDirectory(dir).readMeta() == nil)
        try Data("x".utf8).write(to: dir.appendingPathComponent("loss.h5"))
        #expect(throws: ResultsError.self) { _ = try ResultsDirectory(dir).readMeta() }
    }
}
