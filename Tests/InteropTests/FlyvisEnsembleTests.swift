import FlyvisEnsemble
import FlyvisResults
import FlyvisTestSupport
import Foundation
import Testing

/// `summary` on an ensemble trained by flyvis: every member is read from flyvis's own files.
@Suite struct FlyvisEnsembleTests {
    @Test func summaryOfAFlyvisEnsemble() throws {
        let members = try FlyvisResultsReference.members()
        let source = try #require(members.first).url.deletingLastPathComponent()
        let copy = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: copy) }
        let ens = try copyFixture(source, into: copy, keepingComponents: 2)
        let (ranked, table) = try EnsembleSummary.rebuild(ensembleDirectory: ResultsDirectory(ens))
        #expect(ranked.count == members.filter { $0.url.deletingLastPathComponent() == source }.count)
        for m in ranked {
            let dir = ResultsDirectory(ens.appendingPathComponent(String(format: "%03d", m.id.member)))
            let losses = try dir.subdirectory("validation").read("loss", as: Double.self).values
            let indices = try dir.read("chkpt_index", as: Int64.self).values.map(Int.init)
            let argmin = losses.indices.min { losses[$0] < losses[$1] }!
            // flyvis's trainer wrote no validation/epe: best and task error are by validation/loss.
            #expect(
                m.best?.metric == .loss && m.taskError == losses[argmin] && m.bestCheckpoint == indices[argmin],
                "member \(m.id.member)")
            #expect(m.iterations == Int(try dir.read("chkpt_iter", as: Int64.self).values.last!) + 1)
            #expect(table.contains(String(format: "%03d", m.id.member)))
        }
        #expect(zip(ranked, ranked.dropFirst()).allSatisfy { $0.taskError <= $1.taskError })
        #expect(table.hasPrefix("Ranked by task error = min. validation/loss."))
        #expect(FileManager.default.fileExists(atPath: ens.appendingPathComponent("ranking.txt").path))
    }
}
