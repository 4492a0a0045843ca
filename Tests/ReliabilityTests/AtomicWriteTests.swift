import FlyvisBase
import FlyvisResults
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisSolver

/// Atomic groups of writes and the orphaned temporaries of kill -9.
@Suite(.serialized) struct AtomicWriteTests {
    @Test func snapshotRollsAGroupOfWritesBack() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = ResultsDirectory(dir)
        try d.extend(ResultsSchema.chkptIndex, [Int64(0)])
        try d.split(.validation).extend(ResultsSchema.loss, [1.5])
        let store = CheckpointStore(networkDirectory: d)
        try FileManager.default.createDirectory(at: store.directory, withIntermediateDirectories: true)
        try Data("c0".utf8).write(to: store.path(index: 0))

        struct Full: Error {}
        #expect(throws: Full.self) {
            try ResultsSnapshot.transaction(in: dir) {
                try d.split(.validation).extend(ResultsSchema.loss, [1.25])
                try d.extend(ResultsSchema.loss, [3.0])  // a new file
                try Data("c1".utf8).write(to: store.path(index: 1))
                throw Full()  // as ENOSPC would, before chkpt_index is extended
            }
        }
        #expect(try d.split(.validation).read(ResultsSchema.loss, as: Double.self).values == [1.5])
        #expect(try d.read(ResultsSchema.chkptIndex, as: Int64.self).values == [0])
        #expect(!d.contains(ResultsSchema.loss))
        #expect(CheckpointStore(networkDirectory: d).indices() == [0])
        #expect(try hiddenFiles(dir).isEmpty)

        // Committed: the new state stays, the backups go.
        try ResultsSnapshot.transaction(in: dir) {
            try d.split(.validation).extend(ResultsSchema.loss, [1.25])
            try d.extend(ResultsSchema.chkptIndex, [Int64(1)])
        }
        #expect(try d.split(.validation).read(ResultsSchema.loss, as: Double.self).values == [1.5, 1.25])
        #expect(try d.read(ResultsSchema.chkptIndex, as: Int64.self).values == [0, 1])
        #expect(try hiddenFiles(dir).isEmpty)
    }

    @Test func staleTemporariesOfDeadProcessesAreRemoved() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let sub = dir.appendingPathComponent("validation")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        let dead = try deadPID()
        let stale = [
            ".loss.h5.tmp-\(dead)-12345-\(thisHost)", "validation/.loss.h5.tmp-\(dead)-1-\(thisHost)",
            ".chkpt_index.h5.bak-\(dead)-7-\(thisHost)",
        ]
        let kept = [
            ".loss.h5.tmp-\(getpid())-1-\(thisHost)",  // a live writer (this process)
            ".loss.h5.tmp-\(dead)-1-some-other-host.example",  // another host's PID means nothing here
            ".loss.h5.tmp-\(dead)-99",  // no host recorded: unknown writer
            "loss.h5", ".flyvis.lock", "_meta.yaml",
        ]
        for name in stale + kept { try Data("x".utf8).write(to: dir.appendingPathComponent(name)) }
        let removed = AtomicFile.removeStaleTemporaries(in: dir)
        #expect(Set(removed.map { String($0.dropFirst(dir.path.count + 1)) }) == Set(stale))
        for name in kept { #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), "\(name)") }
    }

    /// Opening a member directory holds its lock, so every temporary in it is an orphan.
    @Test func openingAMemberRemovesOrphansKilledRunsLeft() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = root.appendingPathComponent("results/flow/0008/000")
        try FileManager.default.createDirectory(at: member.appendingPathComponent("validation"), withIntermediateDirectories: true)
        let dead = try deadPID()
        let orphans = [
            ".loss.h5.tmp-\(dead)-5-\(thisHost)", "validation/.loss.h5.tmp-\(dead)-6-other.host",
            ".chkpt_index.h5.tmp-\(dead)-8",
        ]
        for name in orphans { try Data("x".utf8).write(to: member.appendingPathComponent(name)) }
        let s = try Tiny.solver(root: root, ["task_name=flow", "ensemble_and_network_id=0008/000"])
        for name in orphans { #expect(!FileManager.default.fileExists(atPath: member.appendingPathComponent(name).path), "\(name)") }
        _ = s
    }

    func hiddenFiles(_ dir: URL) throws -> [String] {
        (FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String] ?? [])
            .filter { ($0 as NSString).lastPathComponent.hasPrefix(".") }
    }
}
