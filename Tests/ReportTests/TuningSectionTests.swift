import FlyvisResponses
import FlyvisResults
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisEnsemble
@testable import FlyvisReport

/// The report's tuning section, drawn from `<ens>/responses/tuning.h5`: one FRI dot per
/// member and cell type at the value's height, the known ON and OFF types shaded, the DSI of
/// T4 to ON and T5 to OFF edges, and the correlations in the member table.
@Suite struct TuningSectionTests {
    static let types = ["R1", "L1", "T4a", "T5a", "Mi1"]

    /// Two members' readout with hand-picked values (2 intensities: 0 OFF, 1 ON).
    static func table() -> TuningTable {
        var t = TuningTable(members: ["000", "001"], checkpoints: [3, 5], cellTypes: types)
        t.intensities = [0, 1]
        t.fri = [
            RadiusFRI(radius: 6, values: [0.5, -0.25, 0.1, -0.1, 0.0, 0.75, -0.5, 0.2, -0.2, 0.05]),
            RadiusFRI(radius: -1, values: [Double](repeating: 0.3, count: 10)),
        ]
        t.friCorrelationToKnown = [0.9, 0.4]
        // (member, cell, intensity): T4a's ON value and T5a's OFF value are the ones shown.
        var dsi = [Double](repeating: 0.01, count: 2 * 5 * 2)
        dsi[(0 * 5 + 2) * 2 + 1] = 0.6  // member 000 T4a ON
        dsi[(0 * 5 + 3) * 2 + 0] = 0.3  // member 000 T5a OFF
        dsi[(1 * 5 + 2) * 2 + 1] = 0.2
        dsi[(1 * 5 + 3) * 2 + 0] = 0.1
        t.dsi = dsi
        t.preferredDirection = [Double](repeating: 0, count: 20)
        t.dsiCorrelationToKnown = [0.8, 0.1]
        return t
    }

    static func ensemble(withTuning tuning: Bool) throws -> (root: URL, ens: ResultsDirectory) {
        let root = try temporaryDirectory()
        let ens = ResultsDirectory(root.appendingPathComponent("results/flow/0003"))
        for m in 0..<2 {
            try makeMember(
                ens, m, losses: (0..<20).map { 1 / Double($0 + 1) }, validation: [0.5, 0.4 - Double(m) * 0.1], every: 10,
                state: .finished, iteration: 20, nIters: 20)
        }
        if tuning { try table().write(directory: ens.url.appendingPathComponent(ResponsesJob.folder)) }
        return (root, ens)
    }

    @Test func frisDsisAndCorrelationsAreDrawnAtTheirValues() throws {
        let (root, ens) = try Self.ensemble(withTuning: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let (url, _) = try EnsembleReportWriter().write(ensembleDirectory: ens)
        let page = try ParsedPage(url)
        // FRI strip: 2 members × 5 types, each dot at its value.
        let strip = try page.plot("fri-strip")
        let dots = try page.inPlot("fri-strip", "circle", class: "dot")
        #expect(dots.count == 10)
        let lo = try #require(Double(strip.attr("data-y-lo") ?? ""))
        let hi = try #require(Double(strip.attr("data-y-hi") ?? ""))
        let box = (strip.attr("data-box") ?? "").split(separator: " ").compactMap { Double($0) }
        #expect(box.count == 4 && lo == -1 && hi == 1)
        let fri = Self.table().fri[0].values
        for dot in dots {
            let member = try #require(dot.attr("data-member"))
            let type = try #require(dot.attr("data-cell-type"))
            let cy = try #require(Double(dot.attr("cy") ?? ""))
            let value = lo + (box[3] - cy) / (box[3] - box[1]) * (hi - lo)
            let expected = fri[(member == "000" ? 0 : 5) + Self.types.firstIndex(of: type)!]
            #expect(abs(value - expected) < 0.02, "\(member) \(type): drawn at \(value), value \(expected)")
        }
        // Known polarities (flyvis's ground truth): R1 ON, L1 OFF, T4a ON, T5a OFF, Mi1 ON.
        let on = try page.inPlot("fri-strip", "rect", class: "known-on").compactMap { $0.attr("data-cell-type") }
        let off = try page.inPlot("fri-strip", "rect", class: "known-off").compactMap {
            $0.attr("data-cell-type")
        }
        #expect(Set(on) == ["R1", "T4a", "Mi1"])
        #expect(Set(off) == ["L1", "T5a"])
        // DSI: T4a at ON edges and T5a at OFF edges, one dot per member.
        let dsiDots = try page.inPlot("dsi-plot", "circle", class: "dot")
        #expect(dsiDots.count == 4)
        let titles = dsiDots.compactMap { $0.stringValue }
        #expect(titles.contains { $0.contains("000 T4a ON") && $0.contains("0.6") })
        #expect(titles.contains { $0.contains("001 T5a OFF") && $0.contains("0.1") })
        // The member table carries both correlations.
        let fc = try page.nodes("//*[local-name()='td'][contains(@class, 'fri-corr')]").map(\.stringValue)
        let dc = try page.nodes("//*[local-name()='td'][contains(@class, 'dsi-corr')]").map(\.stringValue)
        #expect(fc == ["0.9", "0.4"], "\(fc)")
        #expect(dc == ["0.8", "0.1"], "\(dc)")
    }

    @Test func withoutReadoutTheSectionSaysHowToMakeOne() throws {
        let (root, ens) = try Self.ensemble(withTuning: false)
        defer { try? FileManager.default.removeItem(at: root) }
        let (url, report) = try EnsembleReportWriter().write(ensembleDirectory: ens)
        #expect(report.tuning == nil)
        let page = try ParsedPage(url)
        #expect(try page.nodes("//*[local-name()='svg'][@id='fri-strip']").isEmpty)
        #expect(page.text.contains("flyvis-ensemble responses"))
    }

    @Test func aDamagedReadoutIsNamedAndThePageStillRenders() throws {
        let (root, ens) = try Self.ensemble(withTuning: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let file = ens.url.appendingPathComponent("responses/tuning.h5")
        try Data("not HDF5".utf8).write(to: file)
        let (url, report) = try EnsembleReportWriter().write(ensembleDirectory: ens)
        #expect(report.tuning == nil)
        #expect(report.members.allSatisfy { $0.problems.contains { $0.contains(file.path) } })
        #expect(FileManager.default.fileExists(atPath: url.path))
    }
}
