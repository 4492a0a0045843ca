import FlyvisBase
import FlyvisResults
import FlyvisSolver
import Foundation

/// The tuning readout a trained member computes for itself after its post-training validation:
/// flyvis's default flashes and moving edges at its best checkpoint, reduced to the indices
/// (no responses file), in `<member>/tuning.h5`. Rank 0 gathers the members' files into
/// `<ens>/responses/tuning.h5`. A readout made at the current best checkpoint is kept, so a
/// rerun or resume does not repeat it.
package enum MemberTuning {
    package static let fileName = TuningTable.fileName

    package enum Outcome: Equatable, Sendable {
        case computed(TuningTable)
        case upToDate(TuningTable)
        /// No best checkpoint yet (nothing validated).
        case noCheckpoint
    }

    /// Computes (or keeps) the member's readout. `shouldStop` is asked between batches; a stop
    /// throws `ResponsesError.interrupted` and leaves the old file, if any.
    package static func ensure(
        member directory: URL, cacheRoot: URL, request: StimulusRequest = StimulusRequest(), threads: Int = 1,
        shouldStop: () -> Bool = { false }, log: (String) -> Void = { _ in }
    ) throws -> Outcome {
        guard let best = try BestCheckpoint.find(in: ResultsDirectory(directory)) else { return .noCheckpoint }
        let url = directory.appendingPathComponent(fileName)
        if let existing = try? TuningTable.read(url), existing.checkpoints == [best.index], existing.matches(request) {
            return .upToDate(existing)
        }
        let member = try ResponsesMember.member(directory: directory, checkpoint: .index(best.index))
        let started = Date()
        let sets = try request.sets(extent: member.extent, cache: cacheRoot, log: log)
        let table = try TuningReadout.compute(
            member: member, sets: sets, stimuli: request.key, threads: threads, shouldStop: shouldStop)
        try table.write(file: url)
        log(
            String(
                format: "Tuning readout at checkpoint %d (%@) in %.1f s: fri_correlation_to_known %.4f, dsi_correlation_to_known %.4f.",
                best.index, best.metric.path, Date().timeIntervalSince(started), table.friCorrelationToKnown?.first ?? .nan,
                table.dsiCorrelationToKnown?.first ?? .nan))
        return .computed(table)
    }

    /// The ensemble's readout from its members' files, in member order; nil when no member
    /// has one. Members whose readout differs in stimuli are an error naming them.
    package static func gather(members: [URL]) throws -> TuningTable? {
        let tables = try members.compactMap { dir -> TuningTable? in
            let url = dir.appendingPathComponent(fileName)
            guard FileManager.default.fileExists(atPath: url.path) else { return nil }
            return try TuningTable.read(url)
        }
        return tables.isEmpty ? nil : try TuningReadout.merge(tables)
    }
}
