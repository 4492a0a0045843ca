import FlyvisHDF5
import FlyvisResults
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisEnsemble

@Suite struct EnsembleSummaryTests {
    /// Writes a member directory the way the solver does: validation losses per checkpoint,
    /// checkpoint indices and iterations, time trained, and the training status.
    func makeMember(
        _ ens: ResultsDirectory, _ m: Int, losses: [Double], state: ProgressReport.State,
        error: String? = nil
    ) throws {
        let dir = ens.member(m)
        try dir.split(.validation).write(ResultsSchema.loss, losses)
        try dir.write(ResultsSchema.chkptIndex, losses.indices.map(Int64.init))
        try dir.write(ResultsSchema.chkptIter, losses.indices.map { Int64($0 * 10 - 1) })
        try dir.writeScalar(ResultsSchema.timeTrained, Double(m) + 0.5)
        try MemberStatus(state: state, iteration: max(0, (losses.count - 1) * 10), error: error).write(to: dir)
    }

    @Test func rebuildRanksMembersAndPicksBestCheckpoints() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let ens = ResultsDirectory(root.appendingPathComponent("results/flow/0045"))
        let losses: [[Double]] = [[5, 4, 4.5], [6, 3, 3.5, 2.5], [7, 7.5], [], [4, 3.9]]
        for (m, l) in losses.enumerated() {
            try makeMember(
                ens, m, losses: l, state: m == 3 ? .failed : .finished,
                error: m == 3 ? "OverflowError: loss is NaN at iteration 12" : nil)
        }
        try FileManager.default.createDirectory(
            at: ens.url.appendingPathComponent("umap_and_clustering"),
            withIntermediateDirectories: true)
        let (ranked, table) = try EnsembleSummary.rebuild(ensembleDirectory: ens, topK: 2)
        // Independently: the expected order and best checkpoints follow from the loss arrays.
        let expected =
            losses.enumerated().filter { !$0.element.isEmpty }
            .sorted { $0.element.min()! < $1.element.min()! }.map(\.offset) + [3]
        #expect(ranked.map(\.id.member) == expected)
        for m in ranked where !losses[m.id.member].isEmpty {
            let l = losses[m.id.member]
            #expect(m.bestCheckpoint == l.firstIndex(of: l.min()!))
        }
        let f = try HDF5File(path: ens.url.appendingPathComponent(ResultsSchema.ensembleSummary).path, mode: .readOnly)
        let v: HDF5Array<Double> = try f.read("val_loss")
        #expect(v.shape == [5, 4])
        for (m, l) in losses.enumerated() {
            let row = Array(v.values[(m * 4)..<(m * 4 + 4)])
            #expect(Array(row.prefix(l.count)) == l)
            #expect(row.dropFirst(l.count).allSatisfy { $0.isNaN })
        }
        #expect(try f.readStrings("names") == (0..<5).map { "flow/0045/\(String(format: "%03d", $0))" })
        #expect(try f.read("status", as: Int32.self).values == [2, 2, 2, 3, 2])
        #expect(try f.read("top_k", as: UInt8.self).values == (0..<5).map { expected.prefix(2).contains($0) ? 1 : 0 })
        #expect(try f.readStrings("error")[3].contains("NaN"))
        #expect(table.contains("OverflowError"))
        let best = try String(contentsOf: ens.url.appendingPathComponent(ResultsSchema.bestCheckpoints), encoding: .utf8)
        #expect(best.split(separator: "\n").first?.hasPrefix("0045/\(String(format: "%03d", expected[0])) ") == true)
        #expect(best.contains("chkpts/chkpt_00003"))
    }

    @Test func seedsDifferPerMemberAndAreStable() {
        let seeds = (0..<50).map { MemberID(ensembleID: 45, member: $0).seed }
        #expect(Set(seeds).count == 50)
        #expect(MemberID(ensembleID: 46, member: 7).seed != MemberID(ensembleID: 45, member: 7).seed)
    }

    /// Every stored ensemble member keeps its seed in `_meta.yaml`, and a resume refuses a
    /// member whose seed differs: the derivation may never change. These literals were
    /// computed independently of our code (splitmix64 of ensemble · 0x9E3779B97F4A7C15 +
    /// member + 0x632BE59BD9B4E019, low 31 bits, in Python).
    @Test(arguments: [
        (0, 0, 1_447_931_562), (0, 1, 676_773_339), (1, 0, 2_003_370_682), (45, 7, 135_201_533),
        (46, 7, 2_057_595_369), (9999, 999, 1_408_553_890), (23, 1, 1_731_820_558),
    ])
    func memberSeedsArePinned(ensemble: Int, member: Int, seed: Int) {
        #expect(MemberID(ensembleID: ensemble, member: member).seed == seed)
        #expect(MemberID(ensembleID: 45, member: 7).name == "0045/007")
    }

    @Test func statusFileRoundTrip() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = ResultsDirectory(root)
        let s = MemberStatus(state: .failed, iteration: 12, error: "it's: broken\nbadly")
        try s.write(to: dir)
        #expect(MemberStatus.read(from: dir) == MemberStatus(state: .failed, iteration: 12, error: "it's: broken badly"))
    }
}
