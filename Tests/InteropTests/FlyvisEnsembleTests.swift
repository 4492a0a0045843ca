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
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("flyvis-ensemble-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: copy) }
        let ens = copy.appendingPathComponent(source.deletingLastPathComponent().lastPathComponent)
            .appendingPathComponent(source.lastPathComponent)
        try FileManager.default.createDirectory(at: ens.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source, to: ens)
        chmod(ens.path, 0o755)
        let (ranked, table) = try EnsembleSummary.rebuild(ensembleDirectory: ResultsDirectory(ens))
        #expect(ranked.count == members.filter { $0.url.deletingLastPathComponent() == source }.count)
        for m in ranked {
            let dir = ResultsDirectory(ens.appendingPathComponent(String(format: "%03d", m.id.member)))
            let losses = try dir.subdirectory("validation").read("loss", as: Double.self).values
            let indices = try dir.read("chkpt_index", as: Int64.self).values.map(Int.init)
            let argmin = losses.indices.min { losses[$0] < losses[$1] }!
            #expect(m.minValLoss == losses[argmin] && m.bestCheckpoint == indices[argmin], "member \(m.id.member)")
            #expect(m.iterations == Int(try dir.read("chkpt_iter", as: Int64.self).values.last!) + 1)
            #expect(table.contains(String(format: "%03d", m.id.member)))
        }
        #expect(zip(ranked, ranked.dropFirst()).allSatisfy { $0.minValLoss <= $1.minValLoss })
        #expect(FileManager.default.fileExists(atPath: ens.appendingPathComponent("ranking.txt").path))
    }
}
