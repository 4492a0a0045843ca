import FlyvisEnsemble
import FlyvisResults
import FlyvisTestSupport
import Foundation
import Testing

/// What flyvis itself says about a 4-member ensemble (Fixtures.ensemble4's `expected.json`,
/// written by scripts/flyvis_task_error.py with flyvis 1.2.0): `EnsembleView(ens).task_error()`
/// and each member's best checkpoint by `best_checkpoint_default_fn`. Member 002's
/// `validation/epe` has its minimum on another checkpoint than its `validation/loss`, so a
/// ranking by the wrong file fails here.
@Suite struct FlyvisTaskErrorTests {
    struct Expected: Decodable {
        var ensemble: String
        var members: [String]
        var task_error: [Double]
        var argsort: [Int]
        var best_checkpoint: [Int]
    }

    static func expected() throws -> Expected {
        let data = try Data(contentsOf: Fixtures.ensemble4.appendingPathComponent("expected.json"))
        return try JSONDecoder().decode(Expected.self, from: data)
    }

    /// A writable copy of the fixture ensemble.
    static func ensemble(in root: URL) throws -> ResultsDirectory {
        let e = try expected()
        let source = Fixtures.ensemble4.appendingPathComponent(e.ensemble)
        return ResultsDirectory(try copyFixture(source, into: root, keepingComponents: 2))
    }

    @Test func rankingMatchesFlyvisTaskError() throws {
        let e = try Self.expected()
        try #require(e.members.count == 4 && e.task_error.count == 4 && e.argsort.count == 4)
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let ens = try Self.ensemble(in: root)
        let (ranked, table) = try EnsembleSummary.rebuild(ensembleDirectory: ens)

        // The order and the task errors, as values and as ranking.txt prints them.
        let flyvisOrder = e.argsort.map { e.members[$0] }
        #expect(ranked.map { ResultsSchema.memberFolder($0.id.member) } == flyvisOrder)
        for m in ranked {
            let i = try #require(e.members.firstIndex(of: ResultsSchema.memberFolder(m.id.member)))
            #expect(abs(m.taskError - e.task_error[i]) <= 1e-12 * e.task_error[i], "member \(m.id.name)")
            #expect(m.best?.metric == .epe)
        }
        let text = try String(contentsOf: ens.url.appendingPathComponent(ResultsSchema.ranking), encoding: .utf8)
        #expect(text == table)
        #expect(text.hasPrefix("Ranked by task error = min. validation/epe."))
        let rows = text.split(separator: "\n").filter { $0.contains("/\(ResultsSchema.ensembleFolder(1))/") }
        try #require(rows.count == 4)
        for (row, name) in zip(rows, flyvisOrder) {
            let fields = row.split(separator: " ", omittingEmptySubsequences: true)
            #expect(fields[1].hasSuffix("/\(name)"), "\(row)")
            let i = e.members.firstIndex(of: name)!
            #expect(abs(try #require(Double(fields[2])) - e.task_error[i]) <= 5e-7, "\(row)")
            #expect(fields[3] == "validation/epe", "\(row)")
        }
    }

    @Test func bestCheckpointIsTheSameEverywhere() throws {
        let e = try Self.expected()
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let ens = try Self.ensemble(in: root)
        try EnsembleSummary.rebuild(ensembleDirectory: ens)
        let lines = try String(contentsOf: ens.url.appendingPathComponent(ResultsSchema.bestCheckpoints), encoding: .utf8)
            .split(separator: "\n")
        try #require(lines.count == 4)
        let report = try EnsembleReportWriter().build(ensembleDirectory: ens)
        for (i, name) in e.members.enumerated() {
            let member = ens.subdirectory(name)
            // --checkpoint best (simulate, --init-from) resolves through CheckpointSelector.
            let selected = try CheckpointSelector.best.resolve(in: member)
            #expect(selected == e.best_checkpoint[i], "member \(name): --checkpoint best")
            let line = try #require(lines.first { $0.contains("/\(name) ") || $0.hasPrefix("\(ResultsSchema.ensembleFolder(1))/\(name) ") })
            let path = CheckpointStore(networkDirectory: member).path(index: e.best_checkpoint[i]).path
            #expect(line.split(separator: " ")[1] == path, "member \(name): best_checkpoints.txt")
            let page = try #require(report.members.first { $0.name == name })
            #expect(page.best?.checkpoint == e.best_checkpoint[i], "member \(name): report")
            #expect(page.best?.metric == "validation/epe")
        }
        #expect(report.ranking.map { ResultsSchema.memberFolder($0) } == e.argsort.map { e.members[$0] })
        #expect(report.rankedBy == "task error = min. validation/epe")
    }
}
