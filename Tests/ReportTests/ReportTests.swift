import FlyvisHDF5
import FlyvisResults
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisEnsemble
@testable import FlyvisReport

#if canImport(FoundationXML)
import FoundationXML
#endif

// MARK: Helpers

/// A member directory as the solver leaves it: per-iteration loss, validation loss per
/// checkpoint, checkpoint indices and iterations, training time, `_meta.yaml`, `_status.yaml`.
func makeMember(
    _ ens: ResultsDirectory, _ m: Int, losses: [Double], validation: [Double], every: Int,
    state: ProgressReport.State, iteration: Int, error: String? = nil, nIters: Int
) throws {
    let dir = ens.member(m)
    try dir.write(ResultsSchema.loss, losses)
    try dir.split(.validation).write(ResultsSchema.loss, validation)
    try dir.write(ResultsSchema.chkptIndex, validation.indices.map(Int64.init))
    try dir.write(ResultsSchema.chkptIter, validation.indices.map { Int64($0 * every - 1) })
    try dir.writeScalar(ResultsSchema.timeTrained, Double(losses.count) / 20)
    try dir.writeMeta(
        "config:\n  type: NetworkDir\n  task:\n    batch_size: 4\n    n_iters: \(nIters)\n  scheduler:\n    n_iters: 7\nstatus: done\n")
    try MemberStatus(state: state, iteration: iteration, error: error).write(to: dir)
}

/// Deterministic noise in [-1, 1).
func noise(_ i: Int, _ seed: Int) -> Double {
    var z = UInt64(truncatingIfNeeded: i &* 0x9E37_79B9 &+ seed &* 0x85EB_CA6B)
    z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
    z = (z ^ (z >> 33)) &* 0xC4CE_B9FE_1A85_EC53
    z ^= z >> 33
    return Double(z % 2_000_000) / 1_000_000 - 1
}

/// Trailing mean by prefix sums, the straightforward way (not how the report computes it).
func trailingMean(_ v: [Double], window w: Int) -> [Double] {
    var prefix = [0.0]
    prefix.reserveCapacity(v.count + 1)
    for x in v { prefix.append(prefix.last! + x) }
    return v.indices.map { i in
        let a = max(0, i - w + 1)
        return (prefix[i + 1] - prefix[a]) / Double(i + 1 - a)
    }
}

struct ParsedPage {
    let doc: XMLDocument
    let text: String

    init(_ url: URL) throws {
        let data = try Data(contentsOf: url)
        text = String(decoding: data, as: UTF8.self)
        doc = try XMLDocument(data: data, options: [])
    }

    init(html: String) throws {
        text = html
        doc = try XMLDocument(data: Data(html.utf8), options: [])
    }

    func nodes(_ xpath: String) throws -> [XMLElement] { try doc.nodes(forXPath: xpath).compactMap { $0 as? XMLElement } }

    /// Elements `name` (any namespace) inside the <svg> with this id whose class list has `cls`.
    func inPlot(_ plot: String, _ name: String, class cls: String) throws -> [XMLElement] {
        try nodes("//*[local-name()='svg'][@id='\(plot)']//*[local-name()='\(name)'][contains(concat(' ', @class, ' '), ' \(cls) ')]")
    }

    func plot(_ id: String) throws -> XMLElement {
        try #require(try nodes("//*[local-name()='svg'][@id='\(id)']").first)
    }

    func byID(_ id: String) throws -> XMLElement { try #require(try nodes("//*[@id='\(id)']").first) }
}

extension XMLElement {
    /// corelibs Foundation's `attribute(forName:)` misses attributes of namespaced (SVG,
    /// XHTML) elements, so look through the list.
    func attr(_ name: String) -> String? {
        attributes?.first { $0.name == name || $0.localName == name }?.stringValue
    }
}

/// The pixel ↔ value map a plot declares on its <svg>, to check what is drawn against data
/// the test computed itself.
struct PlotAxes {
    let x0, y0, x1, y1, xLo, xHi, yLo, yHi: Double
    let log: Bool

    init(_ svg: XMLElement) throws {
        let box = try #require(svg.attr("data-box")).split(separator: " ").compactMap { Double($0) }
        try #require(box.count == 4)
        (x0, y0, x1, y1) = (box[0], box[1], box[2], box[3])
        xLo = try #require(Double(svg.attr("data-x-lo") ?? ""))
        xHi = try #require(Double(svg.attr("data-x-hi") ?? ""))
        yLo = try #require(Double(svg.attr("data-y-lo") ?? ""))
        yHi = try #require(Double(svg.attr("data-y-hi") ?? ""))
        log = svg.attr("data-y-scale") == "log"
    }

    func px(x: Double) -> Double { x0 + (x - xLo) / (xHi - xLo) * (x1 - x0) }
    func px(y: Double) -> Double {
        let t = log ? (log10(y) - log10(yLo)) / (log10(yHi) - log10(yLo)) : (y - yLo) / (yHi - yLo)
        return y1 - t * (y1 - y0)
    }
}

/// The absolute vertices of a curve's path "M x y l dx dy dx dy ..." (the only commands the
/// report uses for curves); any other command fails the parse.
func points(_ curve: XMLElement) throws -> [(Double, Double)] {
    let d = curve.attr("d") ?? ""
    var tokens: [String] = []
    var number = ""
    for ch in d {
        if ch.isNumber || (ch == "." && !number.contains(".")) {
            number.append(ch)
            continue
        }
        if !number.isEmpty && number != "-" { tokens.append(number) }
        number = ""
        switch ch {
        case "-": number = "-"
        case ".": number = "."
        case " ", ",": break
        default: tokens.append(String(ch))
        }
    }
    if !number.isEmpty { tokens.append(number) }
    try #require(tokens.first == "M" && tokens.count >= 3, "path starts with M x y: \(d.prefix(40))")
    var x = try #require(Double(tokens[1])), y = try #require(Double(tokens[2]))
    var out = [(x, y)]
    guard tokens.count > 3 else { return out }
    try #require(tokens[3] == "l")
    let rest = tokens.dropFirst(4).map { Double($0) }
    try #require(rest.allSatisfy { $0 != nil } && rest.count % 2 == 0, "relative pairs only")
    for i in stride(from: 0, to: rest.count, by: 2) {
        x += rest[i]!
        y += rest[i + 1]!
        out.append((x, y))
    }
    return out
}

/// FLYVIS_REPORT_SAMPLES=DIR keeps a copy of the test pages there, to look at them
/// (scripts/screenshot-report.sh DIR/fifty-members.html out.png).
func saveSample(_ html: String, _ name: String) {
    guard let dir = ProcessInfo.processInfo.environment["FLYVIS_REPORT_SAMPLES"], !dir.isEmpty else { return }
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try? Data(html.utf8).write(to: URL(fileURLWithPath: dir).appendingPathComponent(name))
}

// MARK: The synthetic ensemble

@Suite struct ReportTests {
    static let failure =
        "OverflowError: invalid values encountered in trace (loss at iteration 1234); every earlier checkpoint is intact — <lower> the learning rates & \"retry\""

    /// Three members: 000 finished after 250,000 iterations (with a burst of high loss in the
    /// middle), 001 failed at iteration 1234, 002 still running at iteration 600.
    static func syntheticEnsemble(_ root: URL) throws -> (ens: ResultsDirectory, losses: [[Double]], validation: [[Double]]) {
        let ens = ResultsDirectory(root.appendingPathComponent("results/flow/0007"))
        let n = 250_000
        var long = (0..<n).map { i in 0.4 + 1.5 * exp(-Double(i) / 40_000) + 0.15 * noise(i, 1) }
        for i in 120_000..<126_000 { long[i] *= 4 }
        let failed = (0..<1200).map { i in 2.0 - Double(i) / 2000 + 0.2 * noise(i, 2) }
        let running = (0..<600).map { i in 1.8 - Double(i) / 1500 + 0.1 * noise(i, 3) }
        let v0 = (0..<50).map { j in 0.6 + 0.8 * exp(-Double(j) / 8) + 0.03 * noise(j, 4) + (j == 24 ? 0.5 : 0) }
        let v1 = [1.9, 1.7, 1.75]
        let v2 = [1.85, 1.6, 1.62, 1.58, 1.59, 1.61, 1.65]
        try makeMember(ens, 0, losses: long, validation: v0, every: 5000, state: .finished, iteration: n, nIters: n)
        try makeMember(
            ens, 1, losses: failed, validation: v1, every: 600, state: .failed, iteration: 1200,
            error: failure, nIters: n)
        try makeMember(ens, 2, losses: running, validation: v2, every: 100, state: .running, iteration: 600, nIters: n)
        return (ens, [long, failed, running], [v0, v1, v2])
    }

    @Test func syntheticEnsembleReport() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let (ens, losses, validation) = try Self.syntheticEnsemble(root)
        try EnsembleReportWriter().write(ensembleDirectory: ens)
        let url = ens.url.appendingPathComponent(ResultsSchema.ensembleReport)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
        print("report size, 3 members, one with 250,000 iterations: \(size) bytes")
        #expect(size > 20_000, "the page has content")
        #expect(size < 2_000_000, "below the 2 MB limit")

        // Well-formed: the XML parser accepts it.
        let page = try ParsedPage(url)
        saveSample(page.text, "synthetic.html")
        #expect(page.doc.rootElement()?.localName == "html")

        // Self-contained: nothing to fetch.
        for needle in ["src=", "href=", "url(", "@import", "<script", "<link"] {
            #expect(!page.text.contains(needle), "\(needle)")
        }
        #expect(try page.nodes("//*[local-name()='meta'][@http-equiv='refresh']").isEmpty, "a snapshot does not reload")

        // One curve per member in each curve plot.
        let names = ["000", "001", "002"]
        for plot in ["training-loss", "validation-loss"] {
            let curves = try page.inPlot(plot, "path", class: "curve")
            #expect(curves.compactMap { $0.attr("data-member") }.sorted() == names, "\(plot)")
            #expect(try curves.allSatisfy { try points($0).count >= 2 }, "\(plot)")
        }

        // Axis labels, with units in parentheses, on every plot.
        for plot in ["training-loss", "validation-loss", "task-error-histogram", "ranking-chart"] {
            for axis in ["x-label", "y-label"] {
                let label = try #require(try page.inPlot(plot, "text", class: axis).first, "\(plot) \(axis)")
                let text = label.stringValue ?? ""
                #expect(text.contains("(") && text.contains(")") && text.count > 8, "\(plot) \(axis): \(text)")
            }
        }
        #expect(try page.inPlot("training-loss", "text", class: "x-label").first?.stringValue?.contains("iteration") == true)
        #expect(try page.inPlot("validation-loss", "text", class: "x-label").first?.stringValue?.contains("checkpoint") == true)

        // The failed member's message, verbatim, and the iteration where it failed.
        let row = try #require(try page.nodes("//*[local-name()='tr'][@data-member='001']").first)
        #expect(row.stringValue?.contains(Self.failure) == true)
        #expect(try row.nodes(forXPath: ".//*[@class='fail-iteration']").first?.stringValue == "1234")
        #expect(try row.nodes(forXPath: ".//*[@class='state']").first?.stringValue == "failed")
        #expect(try page.inPlot("training-loss", "path", class: "fail-mark").compactMap { $0.attr("data-member") } == ["001"])

        // Best checkpoints, from the validation losses written above, in the plot and the table.
        let vAxes = try PlotAxes(try page.plot("validation-loss"))
        for (m, v) in validation.enumerated() {
            let best = v.firstIndex(of: v.min()!)!
            let marker = try #require(
                try page.inPlot("validation-loss", "circle", class: "best")
                    .first { $0.attr("data-member") == names[m] })
            #expect(marker.attr("data-chkpt") == "\(best)")
            #expect(abs(Double(marker.attr("cx")!)! - vAxes.px(x: Double(best))) < 0.06)
            #expect(abs(Double(marker.attr("cy")!)! - vAxes.px(y: v[best])) < 0.06)
            let cell = try #require(try page.nodes("//*[local-name()='tr'][@data-member='\(names[m])']/*[@class='best-chkpt']").first)
            #expect(cell.attr("data-chkpt") == "\(best)")
            let iteration = best * [5000, 600, 100][m] - 1
            #expect(cell.stringValue?.hasPrefix(iteration < 0 ? "\(best) (before training)" : "\(best) (iteration \(iteration))") == true)
        }

        // The long curve: downsampled to the plot's pixel columns, and its extremes are those
        // of the stated running mean (computed here by prefix sums).
        let training = try page.plot("training-loss")
        let window = try #require(Int(training.attr("data-window") ?? ""))
        #expect(try page.byID("smoothing-window").stringValue == "\(window)")
        #expect(window > 1)
        let tAxes = try PlotAxes(training)
        for (m, l) in losses.enumerated() {
            let curve = try #require(try page.inPlot("training-loss", "path", class: "curve").first { $0.attr("data-member") == names[m] })
            let pts = try points(curve)
            let smooth = trailingMean(l, window: window)
            #expect(abs(pts.map(\.1).max()! - tAxes.px(y: smooth.min()!)) < 0.06, "member \(m) lowest point")
            #expect(abs(pts.map(\.1).min()! - tAxes.px(y: smooth.max()!)) < 0.06, "member \(m) highest point")
            #expect(abs(pts.last!.0 - tAxes.px(x: Double(l.count - 1))) < 0.06, "member \(m) ends at its last iteration")
            if l.count > 10_000 { #expect(pts.count <= 2 * Int(tAxes.x1 - tAxes.x0) + 2, "downsampled") }
        }
        #expect(tAxes.xHi == 250_000, "the axis spans n_iters")

        // Header: counts by state.
        #expect(try page.byID("count-finished").stringValue == "1")
        #expect(try page.byID("count-running").stringValue == "1")
        #expect(try page.byID("count-failed").stringValue == "1")
        #expect(try page.byID("count-members").stringValue == "3")

        // Ranking bars in task-error order (failed member last), histogram counts all others.
        let order = try page.inPlot("ranking-chart", "rect", class: "bar").compactMap { $0.attr("data-member") }
        let mins = validation.map { $0.min()! }
        #expect(order == [0, 2].sorted { mins[$0] < mins[$1] }.map { names[$0] } + ["001"])
        let counted = try page.inPlot("task-error-histogram", "rect", class: "hist")
            .compactMap { $0.stringValue?.split(separator: ":").last?.split(separator: "(").last?.dropLast() }
            .flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        #expect(counted.sorted() == ["000", "002"])
    }

    @Test func fiftyMembersAt250kIterationsStayUnderTwoMegabytes() throws {
        let n = 250_000
        let window = TrainingCurve.window(forAxis: n)
        var members: [MemberReport] = []
        for m in 0..<50 {
            let losses = (0..<n).map { i in 0.5 + exp(-Double(i) / Double(20_000 + 500 * m)) + 0.3 * noise(i, m) }
            let curve = TrainingCurve.reduce(losses, window: window, axisIterations: n, columns: ReportLayout.curveColumns)
            // A checkpoint every 100 iterations: more than the plot has pixel columns.
            let v = (0..<2500).map { j in 0.6 + exp(-Double(j) / 300) + 0.05 * noise(j, 100 + m) }
            // The page draws the best checkpoint the loader chose; here the lowest loss.
            let best = v.indices.min { v[$0] < v[$1] }!
            members.append(
                MemberReport(
                    member: m, name: String(format: "%03d", m), state: m == 7 ? .failed : .finished,
                    iteration: n, totalIterations: n,
                    iterationsPerSecond: 4, timeTrained: 60_000, training: curve, validationLoss: v,
                    checkpointIndices: Array(v.indices), checkpointIterations: v.indices.map { $0 * 100 },
                    best: .init(checkpoint: best, taskError: v[best], metric: "validation/loss"),
                    error: m == 7 ? "OverflowError at iteration 99" : nil))
        }
        let ranking = members.sorted { ($0.state == .failed ? 1 : 0, $0.taskError!) < ($1.state == .failed ? 1 : 0, $1.taskError!) }
            .map(\.member)
        let report = EnsembleReport(
            ensemble: "flow/0045", task: "flow", directory: "/x", members: members, ranking: ranking,
            rankedBy: "task error = min. validation/loss", topK: 10,
            trainingAxisIterations: n, smoothingWindow: window)
        let html = ReportPage.render(report)
        saveSample(html, "fifty-members.html")
        print("report size, 50 members × 250,000 iterations, 2,500 checkpoints each: \(html.utf8.count) bytes")
        #expect(html.utf8.count < 2_000_000)
        let page = try ParsedPage(html: html)
        for plot in ["training-loss", "validation-loss"] {
            #expect(try page.inPlot(plot, "path", class: "curve").count == 50, "\(plot)")
        }
        #expect(try page.inPlot("ranking-chart", "rect", class: "top").count == 10)
        #expect(try page.inPlot("validation-loss", "circle", class: "best").count == 50)
    }
}

// MARK: Live job, errors, flyvis directories, the CLI

@Suite struct ReportWriterTests {
    func simpleMember(_ ens: ResultsDirectory, _ m: Int, state: ProgressReport.State, n: Int = 40) throws {
        try makeMember(
            ens, m, losses: (0..<n).map { 1 + Double(n - $0) / 10 }, validation: [3, 2, 2.5], every: 10,
            state: state, iteration: n, nIters: 1000)
    }

    @Test func liveReportRefreshesUntilTheJobEnds() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let ens = ResultsDirectory(root.appendingPathComponent("results/flow/0003"))
        try simpleMember(ens, 0, state: .running)
        try simpleMember(ens, 1, state: .running)
        // Member 2 has no directory yet: only the status table knows it (pending).
        let started = Date(timeIntervalSinceNow: -125)
        let live: [Int: LiveMember] = [
            0: LiveMember(state: .running, rank: 0, iteration: 100, totalIterations: 1000, iterationsPerSecond: 10),
            1: LiveMember(state: .running, rank: 1, iteration: 100, totalIterations: 1000, iterationsPerSecond: 5),
            2: LiveMember(state: .pending),
        ]
        let writer = EnsembleReportWriter()
        let (url, _) = try writer.write(ensembleDirectory: ens, live: LiveJob(members: live, started: started, refreshSeconds: 30))
        let page = try ParsedPage(url)
        let refresh = try page.nodes("//*[local-name()='meta'][@http-equiv='refresh']")
        #expect(refresh.count == 1)
        #expect(refresh.first?.attr("content") == "30")
        // (900 + 900 + 1000) iterations left at 10 + 5 it/s: 186.7 s.
        #expect(try page.byID("eta").stringValue == "3 min 07 s")
        #expect(try page.byID("aggregate-rate").stringValue == "15.00")
        #expect(try page.byID("count-running").stringValue == "2")
        #expect(try page.byID("count-pending").stringValue == "1")
        #expect(try page.byID("elapsed").stringValue == "2 min 05 s")
        #expect(try page.nodes("//*[local-name()='tr'][@data-member='002']").count == 1)
        #expect(try page.nodes("//*[local-name()='tr'][@data-member='001']/*[4]").first?.stringValue == "1", "MPI rank")

        // The job's last update stops the reloading, whatever the members' states.
        let done = try writer.write(ensembleDirectory: ens, live: LiveJob(members: live, started: started, final: true))
        #expect(try ParsedPage(done.url).nodes("//*[local-name()='meta'][@http-equiv='refresh']").isEmpty)
        // So does a live job with nothing left to run.
        var finished = live
        for k in finished.keys { finished[k]!.state = .finished }
        let idle = try writer.write(ensembleDirectory: ens, live: LiveJob(members: finished, started: started))
        #expect(try ParsedPage(idle.url).nodes("//*[local-name()='meta'][@http-equiv='refresh']").isEmpty)
    }

    @Test func cacheFollowsRewrittenHistories() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let ens = ResultsDirectory(root.appendingPathComponent("results/flow/0004"))
        try simpleMember(ens, 0, state: .running, n: 30)
        let writer = EnsembleReportWriter()
        let first = try writer.build(ensembleDirectory: ens)
        #expect(first.members[0].training.iterations == 30)
        // The member checkpoints again: a longer loss.h5 replaces the old one.
        try ens.subdirectory("000").write(ResultsSchema.loss, (0..<70).map { Double($0) })
        let second = try writer.build(ensembleDirectory: ens)
        #expect(second.members[0].training.iterations == 70)
        // n_iters 1000 in _meta.yaml: the window is 4% of it, 40 iterations.
        #expect(second.smoothingWindow == 40)
        #expect(second.members[0].training.points.last == CurvePoint(x: 69, y: Double((30...69).reduce(0, +)) / 40))
    }

    @Test func badInputGivesClearErrorsAndUnreadableFilesAreReported() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let missing = ResultsDirectory(root.appendingPathComponent("results/flow/0099"))
        #expect(throws: EnsembleDirectoryError.missingDirectory(path: missing.path)) {
            try EnsembleReportWriter().build(ensembleDirectory: missing)
        }
        #expect(EnsembleDirectoryError.missingDirectory(path: missing.path).description.contains("results/<task>/<EEEE>"))
        try FileManager.default.createDirectory(at: missing.url, withIntermediateDirectories: true)
        #expect(throws: EnsembleDirectoryError.noMembers(path: missing.path)) {
            try EnsembleReportWriter().build(ensembleDirectory: missing)
        }

        let ens = ResultsDirectory(root.appendingPathComponent("results/flow/0005"))
        try simpleMember(ens, 0, state: .finished)
        try simpleMember(ens, 1, state: .finished)
        let broken = ens.subdirectory("001").file(ResultsSchema.loss)
        try Data("not an HDF5 file".utf8).write(to: broken)
        let (url, report) = try EnsembleReportWriter().write(ensembleDirectory: ens)
        #expect(report.members[1].problems.contains { $0.contains(broken.path) })
        let page = try ParsedPage(url)
        let row = try #require(try page.nodes("//*[local-name()='tr'][@data-member='001']").first)
        #expect(row.stringValue?.contains(broken.path) == true)
        #expect(try page.inPlot("training-loss", "path", class: "curve").compactMap { $0.attr("data-member") } == ["000"])
        #expect(try page.inPlot("validation-loss", "path", class: "curve").count == 2)
    }

    /// The fixture's ensemble trained by flyvis itself (Tests/Fixtures/flyvis-results).
    static var flyvisEnsemble: String { Fixtures.results.appendingPathComponent("flow/9998").path }

    /// A flyvis-trained ensemble (no `_status.yaml`, float32 histories), copied so nothing is written
    /// into the reference tree.
    @Test func flyvisTrainedEnsemble() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let ens = ResultsDirectory(root.appendingPathComponent("results/flow/9998"))
        try FileManager.default.createDirectory(at: ens.url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.flyvisEnsemble, toPath: ens.path)
        let out = root.appendingPathComponent("report.html")
        let (_, report) = try EnsembleReportWriter().write(ensembleDirectory: ens, to: out)
        let page = try ParsedPage(out)
        let members = ["000", "001"]
        for plot in ["training-loss", "validation-loss"] {
            #expect(try page.inPlot(plot, "path", class: "curve").compactMap { $0.attr("data-member") }.sorted() == members)
        }
        for (i, name) in members.enumerated() {
            let v = try ens.subdirectory(name).split(.validation).read(ResultsSchema.loss, as: Double.self).values
            let index = try ens.subdirectory(name).read(ResultsSchema.chkptIndex, as: Int64.self).values
            let best = Int(index[v.firstIndex(of: v.min()!)!])
            #expect(
                try page.inPlot("validation-loss", "circle", class: "best").first { $0.attr("data-member") == name }?.attr("data-chkpt")
                    == "\(best)")
            #expect(report.members[i].problems.isEmpty)
            let losses = try ens.subdirectory(name).read(ResultsSchema.loss, as: Double.self).values
            #expect(report.members[i].training.iterations == losses.count)
        }
        #expect(!FileManager.default.fileExists(atPath: ens.url.appendingPathComponent(ResultsSchema.ensembleReport).path))
    }

    @Test func reportAndSummaryCommands() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let ens = ResultsDirectory(root.appendingPathComponent("results/flow/0006"))
        try simpleMember(ens, 0, state: .finished)
        try simpleMember(ens, 1, state: .finished)
        let page = ens.url.appendingPathComponent(ResultsSchema.ensembleReport)
        let r = try runTool(["report", ens.path, "--top-k", "1"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("wrote \(page.path)"))
        #expect(try page.checkResourceIsReachable())
        let parsed = try ParsedPage(page)
        #expect(try parsed.inPlot("ranking-chart", "rect", class: "top").count == 1)
        try FileManager.default.removeItem(at: page)
        let s = try runTool(["summary", ens.path])
        #expect(s.status == 0, "\(s.output)")
        #expect(try ParsedPage(page).inPlot("training-loss", "path", class: "curve").count == 2)

        let missing = root.appendingPathComponent("results/flow/0404").path
        let bad = try runTool(["report", missing])
        #expect(bad.status != 0)
        #expect(bad.output.contains("'\(missing)' does not exist"))
    }

    func runTool(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try run(productPath("flyvis-ensemble"), arguments)
    }
}

// MARK: Pieces

@Suite struct ReportPieceTests {
    @Test func runningMeanMatchesDirectWindowsThroughAnExplosion() {
        var v = (0..<2000).map { 1 + 0.5 * noise($0, 9) }
        v[700] = 1e30
        v[701] = .nan
        v[1500] = .infinity
        for w in [1, 7, 50, 333] {
            let got = TrainingCurve.runningMean(v, window: w)
            for i in v.indices {
                let window = v[max(0, i - w + 1)...i].filter(\.isFinite)
                if window.isEmpty { #expect(got[i] == nil); continue }
                let want = window.reduce(0, +) / Double(window.count)
                let g = try! #require(got[i])
                #expect(abs(g - want) <= 1e-12 * max(1, abs(want)), "w=\(w) i=\(i): \(g) vs \(want)")
            }
        }
    }

    @Test func reductionKeepsExtremesEndsAndOrder() throws {
        let n = 100_000, columns = 300, window = 10
        var v = (0..<n).map { 2 + sin(Double($0) / 900) + 0.2 * noise($0, 5) }
        for i in 40_000..<40_030 { v[i] = 50 }  // a short burst, narrower than a column
        let curve = TrainingCurve.reduce(v, window: window, axisIterations: n, columns: columns)
        let smooth = trailingMean(v, window: window)
        #expect(curve.points.count <= 2 * columns + 2)
        #expect(curve.points.first?.x == 0)
        #expect(curve.points.last?.x == Double(n - 1))
        #expect(zip(curve.points, curve.points.dropFirst()).allSatisfy { $0.x < $1.x })
        #expect(abs(curve.points.map(\.y).max()! - smooth.max()!) < 1e-9, "the burst survives")
        #expect(abs(curve.points.map(\.y).min()! - smooth.min()!) < 1e-9)
        // Every kept point lies on the smoothed curve.
        for p in curve.points { #expect(abs(p.y - smooth[Int(p.x)]) < 1e-9) }
        // Within each column, the kept extremes bound the smoothed values.
        let column = { (i: Int) in min(columns - 1, i * columns / n) }
        var byColumn: [Int: [Double]] = [:]
        for p in curve.points { byColumn[column(Int(p.x)), default: []].append(p.y) }
        for c in stride(from: 0, to: columns, by: 37) {
            let values = (0..<n).filter { column($0) == c }.map { smooth[$0] }
            let kept = try #require(byColumn[c])
            #expect(abs(kept.max()! - values.max()!) < 1e-9 && abs(kept.min()! - values.min()!) < 1e-9, "column \(c)")
        }
        // Short histories are kept whole.
        #expect(TrainingCurve.reduce(Array(v.prefix(500)), window: 3, axisIterations: n, columns: columns).points.count == 500)
    }

    @Test func scalesPickLogOnlyForWideRangesAndCoverTheData() {
        let wide = Scale.fit([0.02, 0.5, 3000], from: 300, to: 0, allowLog: true)
        #expect(wide.log && wide.lo <= 0.02 && wide.hi >= 3000)
        #expect(wide.ticks.allSatisfy { t in (log10(t) - log10(t).rounded()).magnitude < 1e-9 }, "decades")
        let narrow = Scale.fit([0.41, 0.93], from: 300, to: 0, allowLog: true)
        #expect(!narrow.log && narrow.lo <= 0.41 && narrow.hi >= 0.93)
        #expect(!Scale.fit([-1, 1e6], from: 0, to: 1, allowLog: true).log, "non-positive values stay linear")
        #expect(abs(narrow(narrow.lo) - 300) < 1e-9 && abs(narrow(narrow.hi)) < 1e-9)
        let flat = Scale.fit([5, 5], from: 0, to: 1)
        #expect(flat.lo < 5 && flat.hi > 5)
        let exact = Scale.fit([0, 250_000], from: 0, to: 1, exact: true)
        #expect(exact.lo == 0 && exact.hi == 250_000 && exact.ticks.contains(250_000) && exact.ticks.contains(0))
    }

    @Test func markupEscapesEverythingAnErrorMessageMayHold() throws {
        let nasty = "a < b && c > \"d\" 'e' \u{1}\u{0}]]> <script>x</script>"
        var m = MemberReport(member: 4, name: "004", state: .failed, iteration: 10, error: nasty)
        m.validationLoss = [1, 0.5]
        let r = EnsembleReport(
            ensemble: "flow/<0001>", task: "fl&ow", directory: "/tmp/\"x\"", members: [m],
            trainingAxisIterations: 10, smoothingWindow: 1)
        let html = ReportPage.render(r)
        let page = try ParsedPage(html: html)
        let text = try #require(try page.nodes("//*[@class='error-message']").first?.stringValue)
        #expect(text == "a < b && c > \"d\" 'e' \u{FFFD}\u{FFFD}]]> <script>x</script>")
        #expect(!html.contains("<script"))
        #expect(try page.inPlot("training-loss", "path", class: "fail-mark").count == 1, "marked without a history too")
        #expect(Format.px(-0.04) == "0" && Format.px(12.345) == "12.3" && Format.px(-3.96) == "-4")
        #expect(Format.tenths(-5, leadingZero: false) == "-.5" && Format.tenths(123) == "12.3")
        #expect(Format.count(250_000) == "250k" && Format.count(1_500_000) == "1.5M" && Format.count(-0.0) == "0")
    }
}
