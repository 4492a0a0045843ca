import FlyvisHDF5
import FlyvisResponses
import FlyvisTestSupport
import Foundation
import Testing

/// The readout a member computes for itself after training: flyvis's indices at its best
/// checkpoint, kept while the best checkpoint and the stimuli stay the same.
@Suite(.serialized) struct MemberTuningTests {
    @Test(.enabled(if: ResponsesCommandTests.available)) func readoutIsKeptUntilCheckpointOrStimuliChange() throws {
        // A writable copy of the reference ensemble; member 000 is flyvis's analysed model.
        let (root, ens) = try ResponsesCommandTests.ensemble()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = ens.appendingPathComponent("000")
        var request = StimulusRequest()
        request.angles = [0, 90, 180, 270]
        request.speeds = [19, 25]

        guard case let .computed(table) = try MemberTuning.ensure(member: member, cacheRoot: root, request: request) else {
            Issue.record("the first readout should be computed")
            return
        }
        #expect(table.members == ["000"] && table.checkpoints == [3])
        // flyvis's own analysis of this checkpoint, at the subset the reference file holds.
        let ref = try Fixtures.open(Fixtures.responses)
        let fri6 = try #require(table.fri.first { $0.radius == 6 }).values
        #expect(maxAbsDiff(fri6, try ref.read("flashes/fri_radius_6", as: Double.self).values) <= 1e-5)
        #expect(maxAbsDiff(try #require(table.dsi), try ref.read("moving_edge/dsi", as: Double.self).values) <= 1e-5)
        let stored = try TuningTable.read(member.appendingPathComponent(MemberTuning.fileName))
        #expect(stored == table)

        // Same checkpoint, same stimuli: kept.
        #expect(try MemberTuning.ensure(member: member, cacheRoot: root, request: request) == .upToDate(table))
        // Other stimuli: computed again.
        request.speeds = [25]
        guard case .computed = try MemberTuning.ensure(member: member, cacheRoot: root, request: request) else {
            Issue.record("a readout with other stimuli must be recomputed")
            return
        }
        // The ensemble's gathered readout holds the member's.
        let gathered = try #require(try MemberTuning.gather(members: [member]))
        #expect(gathered.members == ["000"])
        #expect(gathered.matches(request))
    }

    @Test(.enabled(if: ResponsesCommandTests.available)) func aStopRequestInterruptsTheReadout() throws {
        // A writable copy of the reference ensemble; member 000 is flyvis's analysed model.
        let (root, ens) = try ResponsesCommandTests.ensemble()
        defer { try? FileManager.default.removeItem(at: root) }
        let member = ens.appendingPathComponent("000")
        #expect(throws: ResponsesError.interrupted) {
            _ = try MemberTuning.ensure(member: member, cacheRoot: root, shouldStop: { true })
        }
        #expect(!FileManager.default.fileExists(atPath: member.appendingPathComponent(MemberTuning.fileName).path))
    }
}
