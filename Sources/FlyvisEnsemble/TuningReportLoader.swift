import FlyvisReport
import FlyvisResponses
import FlyvisTuning
import Foundation

/// Turns an ensemble's `responses/tuning.h5` into the report's plain values: the radius-6 FRI
/// of every cell type with flyvis's known polarities, and the DSI of T4a–d to ON edges and
/// T5a–d to OFF edges.
enum TuningReportLoader {
    /// The report's tuning values, nil when the ensemble has no readout yet.
    static func load(_ url: URL) throws -> TuningReport? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let t = try TuningTable.read(url)
        let known = Dictionary(KnownTuning.knownPolarity.map { ($0.cellType, $0.polarity) }, uniquingKeysWith: { a, _ in a })
        let on = t.intensities.firstIndex(of: 1), off = t.intensities.firstIndex(of: 0)
        var columns: [(column: TuningReport.DSIColumn, cell: Int, intensity: Int)] = []
        for (prefix, edge, k) in [("T4", "ON", on), ("T5", "OFF", off)] {
            guard let k else { continue }
            for suffix in ["a", "b", "c", "d"] {
                if let c = t.cellTypes.firstIndex(of: prefix + suffix) {
                    columns.append((TuningReport.DSIColumn(cellType: prefix + suffix, edge: edge), c, k))
                }
            }
        }
        let radius6 = t.fri.first { $0.radius == 6 }
        let members = t.members.enumerated().map { i, name in
            TuningReport.Member(
                member: Int(name) ?? i, name: name, checkpoint: t.checkpoints[i],
                fri: radius6.map { r in t.cellTypes.indices.map { t.value(r.values, member: i, cell: $0) ?? .nan } } ?? [],
                dsi: t.dsi == nil ? [] : columns.map { t.value(t.dsi, member: i, cell: $0.cell, intensity: $0.intensity) ?? .nan },
                friCorrelation: t.friCorrelationToKnown?[i], dsiCorrelation: t.dsiCorrelationToKnown?[i])
        }
        return TuningReport(
            cellTypes: t.cellTypes, knownPolarity: t.cellTypes.map { known[$0] }, dsiColumns: columns.map(\.column),
            members: members, source: url.path)
    }
}
