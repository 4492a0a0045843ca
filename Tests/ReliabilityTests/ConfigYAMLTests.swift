import FlyvisConfig
import FlyvisTestSupport
import Foundation
import Testing

/// YAML that expands without bound ("billion laughs" aliases) or nests deeper than the parser
/// allows is refused at once, with a message of bounded length.
@Suite(.serialized) struct ConfigYAMLTests {
    /// Ten levels of ten aliases each: 10^10 values once expanded, from a 0.6 kB file.
    static let billionLaughs: String = {
        var lines = ["config:", "  type: NetworkDir", "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for i in 1..<10 { lines.append("  a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]") }
        return (lines + ["status: done"]).joined(separator: "\n") + "\n"
    }()

    @Test func aliasBombIsRefusedAtOnce() throws {
        let t0 = Date()
        do {
            _ = try Config.fromMeta(Self.billionLaughs, file: "_meta.yaml")
            Issue.record("a document that expands to 10^10 values must be refused")
        } catch {
            #expect("\(error)".contains("expands to more than"), "\(error)")
        }
        #expect(Date().timeIntervalSince(t0) < 5, "refused before expanding")
        // Aliases within reason still work (a hand-written config group may share a value).
        let small = try Config.fromMeta("config:\n  a: &lr 0.5\n  b: *lr\n", file: "small.yaml").config
        #expect(try small.double("b") == 0.5)
    }

    /// In a member's `_meta.yaml`: every command that reads it fails in seconds (it took 120 s
    /// and 8.9 GB), with exit status 1.
    @Test func aliasBombInStoredConfigEndsEveryCommandQuickly() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = try trainTinyMember(root: root, iterations: 9)
        try Self.billionLaughs.write(to: member.appendingPathComponent("_meta.yaml"), atomically: true, encoding: .utf8)
        let id = ["task_name=flow", "ensemble_and_network_id=0001/000"]
        for args in [["val-single", "--root", root.path] + id, ["train-single", "--root", root.path, "resume=true"] + id] {
            let t0 = Date()
            let r = try runFlyvisBounded(args, seconds: 120)
            #expect(r.status == 1 && !r.signaled, "\(args[0]): exit \(r.shellStatus)\n\(r.stderr.suffix(1000))")
            #expect(r.stderr.contains("expands to more than"), "\(args[0]): \(r.stderr.suffix(1000))")
            #expect(Date().timeIntervalSince(t0) < 60)
        }
    }

    /// A nesting error used to print the whole offending line (500 kB of stderr).
    @Test func nestingErrorPrintsABoundedExcerpt() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = try trainTinyMember(root: root, iterations: 9)
        let line = "  a: " + String(repeating: "[", count: 250_000) + String(repeating: "]", count: 250_000)
        try "config:\n\(line)\nstatus: done\n".write(to: member.appendingPathComponent("_meta.yaml"), atomically: true, encoding: .utf8)
        let r = try runFlyvisBounded(
            ["val-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=0001/000"], seconds: 120)
        #expect(r.status == 1 && !r.signaled, "exit \(r.shellStatus)")
        #expect(r.stderr.utf8.count < 1000, "\(r.stderr.utf8.count) bytes of stderr")
        #expect(r.stderr.contains("_meta.yaml") && r.stderr.contains("line 2"), "\(r.stderr.prefix(1000))")
    }
}
