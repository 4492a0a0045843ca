import Foundation

/// Renders an `EnsembleReport` as one self-contained XHTML page: inline CSS and SVG, no
/// scripts, fonts or links to fetch, so it opens offline after `scp`. The markup is
/// well-formed XML (every element closed, only XML's own entities) and valid HTML.
package enum ReportPage {
    package static func render(_ r: EnsembleReport) -> String {
        let order = r.members.sorted { $0.member < $1.member }
        var colors: [Int: String] = [:]
        for (i, m) in order.enumerated() { colors[m.member] = color(i) }
        var p = Page(report: r, members: order, colors: colors)
        p.document()
        return p.out
    }

    /// Well-separated hues (golden angle) with alternating lightness, so neighbours in the
    /// member order never look alike; hovering singles out one member anyway.
    static func color(_ i: Int) -> String {
        let hue = (Double(i) * 137.508).truncatingRemainder(dividingBy: 360)
        let light = [42, 30, 55][i % 3]
        return "hsl(\(Int(hue)),\(i % 2 == 0 ? 75 : 60)%,\(light)%)"
    }
}

private struct Page {
    let report: EnsembleReport
    let members: [MemberReport]
    let colors: [Int: String]
    var out = ""

    init(report: EnsembleReport, members: [MemberReport], colors: [Int: String]) {
        self.report = report
        self.members = members
        self.colors = colors
        out.reserveCapacity(64 * 1024 + members.count * 40 * 1024)
    }

    mutating func w(_ s: String) { out += s }

    // MARK: Document

    mutating func document() {
        let title = "Ensemble \(report.ensemble)"
        w("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
        if report.refreshes { w("<meta http-equiv=\"refresh\" content=\"\(report.refreshSeconds)\"/>\n") }
        w("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
        w("<title>\(esc(title)) — flyvis-ensemble report</title>\n<style>\n\(css())</style>\n</head>\n<body>\n")
        header(title)
        legend()
        trainingSection()
        validationSection()
        histogramSection()
        rankingSection()
        tuningSection()
        memberTable()
        w("<footer><p>Written by flyvis-ensemble at \(esc(iso(report.generated))) from <code>\(esc(report.directory))</code>. ")
        w(
            "The same data as text: <code>ensemble_status.md</code>, <code>ranking.txt</code>, <code>best_checkpoints.txt</code>.</p></footer>\n"
        )
        w("</body>\n</html>\n")
    }

    func css() -> String {
        var s = """
            body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d1d1f;margin:0 auto;max-width:1180px;padding:14px 22px 30px;background:#fafafa}
            h1{font-size:22px;margin:4px 0 2px}h2{font-size:17px;margin:22px 0 2px}
            .sub,.caption{color:#555;margin:2px 0 6px;max-width:900px}
            .facts{display:flex;flex-wrap:wrap;gap:6px 26px;margin:10px 0 4px}
            .facts dt{color:#666;font-size:12px}.facts dd{margin:0;font-size:18px;font-weight:600}
            .facts .failed dd{color:#c0162c}
            svg.plot{width:100%;height:auto;max-width:900px;display:block;background:#fff;border:1px solid #e3e3e3}
            .grid line{stroke:#ececec}.frame{fill:none;stroke:#888}
            .ticks text{font-size:11px;fill:#444}.axis-label{font-size:13px;fill:#222}
            .empty{font-size:14px;fill:#888}
            .curve{fill:none;stroke-width:1.4;stroke-linejoin:round;stroke-linecap:round;opacity:.9}
            .best{fill:#fff;stroke-width:2}
            .fail-mark{stroke-width:2.5;fill:none}
            .bar{stroke:#fff;stroke-width:.5}.bar.other{fill:#cfcfcf}.bar.failed{fill:#f0a8b0}
            .hist{fill:#6b8fb5}
            .known-on{fill:#fbe0dc}.known-off{fill:#dde8f6}.on-key{color:#c0392b}.off-key{color:#2a6cb5}
            .zero{stroke:#999;stroke-dasharray:3 3}.dot{stroke:#fff;stroke-width:.6}
            body:has(.mem:hover) .dot{opacity:.15}
            .plot:hover .curve{opacity:.4}
            body:has(.mem:hover) .curve,body:has(.mem:hover) .fail-mark{opacity:.1}
            body:has(.mem:hover) .best,body:has(.mem:hover) .bar.mem{opacity:.25}
            .legend{list-style:none;padding:0;margin:6px 0;display:flex;flex-wrap:wrap;gap:2px 4px;font-size:12px;max-width:1100px}
            .legend li{padding:1px 5px;border-radius:3px;cursor:default}
            .sw{display:inline-block;width:16px;height:5px;border-radius:2px;vertical-align:middle;margin-right:4px}
            li.mem:hover,tr.mem:hover{background:#fff1b8}
            table{border-collapse:collapse;font-size:13px;background:#fff;margin-top:6px}
            th,td{padding:3px 8px;border-bottom:1px solid #ececec;text-align:left;vertical-align:top}
            th{background:#f1f1f1;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
            tr.state-failed td.state{color:#c0162c;font-weight:600}.err{color:#9c1020;max-width:460px;overflow-wrap:anywhere}
            .problem{color:#8a5a00}footer{color:#777;font-size:12px;margin-top:26px}

            """
        // Hovering a member anywhere (curve, marker, bar, legend entry, table row) brings out
        // that member in every plot; CSS only, so it works in a page opened from disk.
        for m in members {
            s +=
                "body:has(.m\(m.member):hover) .m\(m.member).curve{opacity:1;stroke-width:3}"
                + "body:has(.m\(m.member):hover) .m\(m.member):is(.best,.bar,.fail-mark){opacity:1}\n"
        }
        return s
    }

    mutating func header(_ title: String) {
        w(
            "<header>\n<h1>\(esc(title))</h1>\n<p class=\"sub\">Task <b>\(esc(report.task))</b> · <code>\(esc(report.directory))</code> · updated \(esc(iso(report.generated))) · "
        )
        if report.refreshes {
            w("reloads every \(report.refreshSeconds) s while members are running")
        } else if report.live {
            w(
                report.final
                    ? "written by the job as it ended; this page no longer reloads"
                    : "written by the running job; nothing left to train, so this page no longer reloads")
        } else {
            w("snapshot written by <code>flyvis-ensemble report</code>; it does not reload")
        }
        w("</p>\n<dl class=\"facts\">\n")
        fact("members", "\(members.count)", id: "count-members")
        for state in MemberReport.State.allCases {
            let n = report.count(state)
            if n > 0 || [.finished, .running, .failed].contains(state) {
                fact(state.rawValue, "\(n)", id: "count-\(state.rawValue)", cls: state == .failed && n > 0 ? "failed" : nil)
            }
        }
        if let e = report.elapsed {
            fact("elapsed", Format.duration(e), id: "elapsed")
        } else {
            let longest = members.compactMap(\.timeTrained).max()
            fact("elapsed", longest.map { "\(Format.duration($0)) (longest member)" } ?? "unknown", id: "elapsed")
        }
        let eta: String
        if let t = report.eta {
            eta = Format.duration(t)
        } else if !members.contains(where: { $0.state == .running || $0.state == .pending }) {
            eta = members.allSatisfy({ $0.state == .finished || $0.state == .failed }) ? "done" : "— (not running)"
        } else {
            eta = "unknown (no rate yet)"
        }
        fact("ETA", eta, id: "eta")
        if let rate = report.aggregateRate {
            fact(
                rate.runningOnly ? "aggregate it/s (running members)" : "aggregate it/s (sum of member averages)",
                Format.rate(rate.value), id: "aggregate-rate")
        } else {
            fact("aggregate it/s", "unknown", id: "aggregate-rate")
        }
        w("</dl>\n</header>\n")
    }

    mutating func fact(_ name: String, _ value: String, id: String, cls: String? = nil) {
        w("<div\(cls.map { " class=\"\($0)\"" } ?? "")><dt>\(esc(name))</dt><dd id=\"\(id)\">\(esc(value))</dd></div>\n")
    }

    mutating func legend() {
        w(
            "<section id=\"legend\">\n<h2>Members</h2>\n<p class=\"caption\">Each member has one colour in every plot. Hover over a member here, in a plot or in the table to bring it out everywhere.</p>\n<ul class=\"legend\">\n"
        )
        for m in members {
            w(
                "<li class=\"mem m\(m.member)\"><span class=\"sw\" style=\"background:\(colors[m.member]!)\"></span>\(m.name) <small>\(m.state.rawValue)</small></li>\n"
            )
        }
        w("</ul>\n</section>\n")
    }

    // MARK: Curve plots

    mutating func trainingSection() {
        let window = report.smoothingWindow
        let all = members.flatMap { $0.training.points.map(\.y) }
        let frame = Frame()
        let x = Scale.fit([0, Double(max(report.trainingAxisIterations, 1))], from: frame.x0, to: frame.x1, exact: true)
        let y = Scale.fit(all, from: frame.y1, to: frame.y0, allowLog: true)
        let longest = members.map(\.training.iterations).max() ?? 0
        w(
            "<section id=\"training\">\n<h2>Training loss</h2>\n<p class=\"caption\">Loss of every training iteration, one line per member, smoothed by a running mean over the last <b id=\"smoothing-window\">\(window)</b> iteration\(window == 1 ? "" : "s") (trailing window)"
        )
        if longest > 2 * ReportLayout.curveColumns {
            w(
                "; long histories are reduced to the minimum and maximum of the smoothed loss in each of the plot's \(ReportLayout.curveColumns) pixel columns"
            )
        }
        w(y.log ? ". Log scale: the losses span more than a factor of \(Int(Scale.logRatio)). " : ". ")
        w(
            "A cross marks where a failed member's recorded history ends (on the top edge: where it failed, when it failed before recording any).</p>\n"
        )
        openPlot("training-loss", "Training loss per member against iteration", x: x, y: y, window: window)
        axes(
            frame, x: x, y: y, xLabel: "iteration (optimizer steps)", yLabel: "training loss (task objective, a.u.)",
            xFormat: Format.count, yFormat: Format.value)
        if all.isEmpty { empty(frame, "no training history recorded yet") }
        w("<g class=\"curves\">\n")
        for m in members where !m.training.points.isEmpty {
            let pts = m.training.points.map { (x($0.x), y($0.y)) }
            curvePath(
                m, pts,
                title:
                    "member \(m.name) (\(m.state.rawValue)): \(m.training.iterations) iterations, last smoothed loss \(Format.value(m.training.points.last!.y))"
            )
        }
        for m in members where m.state == .failed {
            // Without a recorded history (diverged before its first checkpoint), mark the
            // failing iteration on the top edge, so every diverged member shows up here.
            let at = m.training.points.last ?? CurvePoint(x: Double(m.failedAtIteration ?? m.iteration), y: .nan)
            let cx = x(min(max(at.x, x.lo), x.hi)), cy = at.y.isNaN ? frame.y0 + 6 : y(at.y)
            w(
                "<path class=\"fail-mark mem m\(m.member)\" data-member=\"\(m.name)\" stroke=\"\(colors[m.member]!)\" d=\"M\(Format.px(cx - 5)) \(Format.px(cy - 5))L\(Format.px(cx + 5)) \(Format.px(cy + 5))M\(Format.px(cx - 5)) \(Format.px(cy + 5))L\(Format.px(cx + 5)) \(Format.px(cy - 5))\"><title>member \(m.name) failed\(m.failedAtIteration.map { " at iteration \($0)" } ?? "")</title></path>\n"
            )
        }
        w("</g>\n</svg>\n</section>\n")
    }

    mutating func validationSection() {
        let frame = Frame()
        var series: [(MemberReport, [CurvePoint])] = []
        for m in members {
            let pts = m.validationLoss.enumerated().compactMap { i, l in
                l.isFinite ? CurvePoint(x: Double(m.checkpointIndex(at: i)), y: l) : nil
            }
            if !pts.isEmpty { series.append((m, pts)) }
        }
        let xs = series.flatMap { $0.1.map(\.x) }
        let x = Scale.fit([0] + xs, from: frame.x0, to: frame.x1, integerTicks: true)
        let y = Scale.fit(series.flatMap { $0.1.map(\.y) }, from: frame.y1, to: frame.y0, allowLog: true)
        w(
            "<section id=\"validation\">\n<h2>Validation loss</h2>\n<p class=\"caption\">Validation loss at every checkpoint, one line per member; a white dot marks each member's best checkpoint, chosen by \(esc(report.rankedBy)) (the one <code>best_checkpoints.txt</code> lists and <code>--checkpoint best</code> loads)\(y.log ? ". Log scale" : "").</p>\n"
        )
        openPlot("validation-loss", "Validation loss per member against checkpoint", x: x, y: y, window: nil)
        axes(
            frame, x: x, y: y, xLabel: "checkpoint (index, as in chkpts/chkpt_NNNNN)", yLabel: "validation loss (task objective, a.u.)",
            xFormat: Format.count, yFormat: Format.value)
        if series.isEmpty { empty(frame, "no checkpoint validated yet") }
        w("<g class=\"curves\">\n")
        for (m, pts) in series {
            let reduced = decimate(pts, columns: ReportLayout.curveColumns, x: x.callAsFunction)
            curvePath(m, reduced.map { (x($0.x), y($0.y)) }, title: "member \(m.name): \(pts.count) checkpoints")
        }
        for (m, _) in series {
            guard let b = m.bestPosition else { continue }
            let l = m.validationLoss[b], c = m.checkpointIndex(at: b)
            let iter = Self.atIteration(m, b)
            w(
                "<circle class=\"best mem m\(m.member)\" data-member=\"\(m.name)\" data-chkpt=\"\(c)\" cx=\"\(Format.px(x(Double(c))))\" cy=\"\(Format.px(y(l)))\" r=\"4.5\" stroke=\"\(colors[m.member]!)\"><title>member \(m.name): best checkpoint \(c)\(iter), validation loss \(Format.value(l)), task error \(Format.value(m.best!.taskError)) (\(esc(m.best!.metric)))</title></circle>\n"
            )
        }
        w("</g>\n</svg>\n</section>\n")
    }

    /// One member's curve as an SVG path in relative tenths of a pixel ("M78 126.5l1-.3 1 .2…"):
    /// about half the bytes of absolute coordinates, which keeps 50 long curves per plot well
    /// under the page's size budget. Differences of rounded positions, so nothing drifts.
    /// " (iteration N)" for validation entry `b`; flyvis's chkpt_iter is −1 for the checkpoint
    /// written before the first iteration.
    static func atIteration(_ m: MemberReport, _ b: Int) -> String {
        guard b < m.checkpointIterations.count else { return "" }
        let i = m.checkpointIterations[b]
        return i < 0 ? " (before training)" : " (iteration \(i))"
    }

    mutating func curvePath(_ m: MemberReport, _ pts: [(Double, Double)], title: String) {
        var d = ""
        d.reserveCapacity(pts.count * 7)
        var last: (Int, Int)?
        for (px, py) in pts {
            let p = (Int((px * 10).rounded()), Int((py * 10).rounded()))
            guard let l = last else {
                d += "M" + Format.tenths(p.0) + " " + Format.tenths(p.1) + "l"
                last = p
                continue
            }
            if p == l { continue }
            for v in [p.0 - l.0, p.1 - l.1] {
                let t = Format.tenths(v, leadingZero: false)
                // A minus sign separates numbers by itself.
                if d.last != "l" && !t.hasPrefix("-") { d += " " }
                d += t
            }
            last = p
        }
        if d.hasSuffix("l") { d.removeLast() }
        let dash = m.state == .failed ? " stroke-dasharray=\"5 3\"" : ""
        w(
            "<path class=\"curve mem m\(m.member)\" data-member=\"\(m.name)\" stroke=\"\(colors[m.member]!)\"\(dash) d=\"\(d)\"><title>\(esc(title))</title></path>\n"
        )
    }

    // MARK: Task error

    /// Members with a task error that counts: finite, not failed.
    var scored: [MemberReport] { members.filter { $0.state != .failed && $0.taskError != nil } }

    mutating func histogramSection() {
        let values = scored.map { ($0, $0.taskError!) }
        let excluded = members.count - values.count
        w(
            "<section id=\"histogram\">\n<h2>Task error</h2>\n<p class=\"caption\">Histogram of the task error (\(esc(report.rankedBy))) over \(values.count) member\(values.count == 1 ? "" : "s")"
        )
        w(excluded > 0 ? "; \(excluded) failed or unvalidated member\(excluded == 1 ? " is" : "s are") left out.</p>\n" : ".</p>\n")
        let frame = Frame(width: 640, height: 280)
        let lo = values.map(\.1).min() ?? 0, hi = values.map(\.1).max() ?? 1
        let bins = max(1, min(20, Int(Double(values.count).squareRoot().rounded(.up)) + 1))
        let width = hi > lo ? (hi - lo) / Double(bins) : max(abs(lo) * 0.05, 1e-6)
        let start = hi > lo ? lo : lo - width / 2
        let count = hi > lo ? bins : 1
        var groups = [[MemberReport]](repeating: [], count: count)
        for (m, v) in values { groups[min(count - 1, Int((v - start) / width))].append(m) }
        let x = Scale.fit([start, start + Double(count) * width], from: frame.x0, to: frame.x1, exact: true)
        let y = Scale.fit(groups.map { Double($0.count) } + [0, 1], from: frame.y1, to: frame.y0, zero: true, integerTicks: true)
        openPlot("task-error-histogram", "Histogram of the task error", x: x, y: y, window: nil, frame: frame)
        axes(
            frame, x: x, y: y, xLabel: "\(report.rankedBy) (a.u.)", yLabel: "members (count)",
            xFormat: Format.value, yFormat: Format.value)
        if values.isEmpty { empty(frame, "no member validated yet") }
        for (i, g) in groups.enumerated() where !g.isEmpty {
            let a = start + Double(i) * width
            let x0 = x(a), x1 = x(a + width), top = y(Double(g.count))
            let names = g.map(\.name).joined(separator: ", ")
            w(
                "<rect class=\"hist\" x=\"\(Format.px(x0 + 1))\" y=\"\(Format.px(top))\" width=\"\(Format.px(max(1, x1 - x0 - 2)))\" height=\"\(Format.px(frame.y1 - top))\"><title>task error \(Format.value(a))–\(Format.value(a + width)): \(g.count) member\(g.count == 1 ? "" : "s") (\(names))</title></rect>\n"
            )
        }
        w("</svg>\n</section>\n")
    }

    mutating func rankingSection() {
        let ranked = report.ranked
        let top = report.topMembers
        let k = report.topK.map { "the top \($0) (--top-k)" } ?? "all of them (no --top-k given)"
        w(
            "<section id=\"ranking\">\n<h2>Ranking</h2>\n<p class=\"caption\">Members sorted by \(esc(report.rankedBy)), best first. Top-k members, \(esc(k)), are drawn in their own colour, the rest grey, failed members last in red."
        )
        let values = ranked.compactMap(\.taskError)
        let frame = Frame(height: 300)
        let lo = values.min() ?? 0, hi = values.max() ?? 1
        // Bars start at zero unless that would hide the differences between members; then the
        // axis starts a little below the best member, whose bar stays visible.
        let zero = !(lo > 0 && hi - lo < 0.25 * hi)
        let y = Scale.fit(
            zero ? values : values + [lo - max(hi - lo, abs(lo) * 1e-3) * 0.5], from: frame.y1, to: frame.y0,
            allowLog: true, zero: zero)
        if !zero && !y.log { w(" The y axis starts at \(Format.value(y.lo)), not at 0.") }
        w("</p>\n")
        let slot = (frame.x1 - frame.x0) / Double(max(ranked.count, 1))
        let x = Scale(lo: 0, hi: Double(max(ranked.count, 1)), log: false, from: frame.x0, to: frame.x1, ticks: [])
        openPlot("ranking-chart", "Members ranked by task error", x: x, y: y, window: nil, frame: frame)
        axes(
            frame, x: x, y: y, xLabel: "member (ranked by task error, best first)", yLabel: "\(report.rankedBy) (a.u.)",
            xFormat: Format.value, yFormat: Format.value)
        if ranked.isEmpty { empty(frame, "no members") }
        let vertical = ranked.count > 14
        for (i, m) in ranked.enumerated() {
            let x0 = frame.x0 + Double(i) * slot
            let cx = x0 + slot / 2
            let cls = m.state == .failed ? "failed" : (top.contains(m.member) ? "top" : "other")
            let fill = cls == "top" ? " fill=\"\(colors[m.member]!)\"" : ""
            let loss = m.taskError
            if let loss, loss > 0 || !y.log {
                let topY = max(frame.y0, min(frame.y1, y(loss)))
                w(
                    "<rect class=\"bar \(cls) mem m\(m.member)\" data-member=\"\(m.name)\" data-position=\"\(i + 1)\"\(fill) x=\"\(Format.px(x0 + slot * 0.12))\" y=\"\(Format.px(topY))\" width=\"\(Format.px(slot * 0.76))\" height=\"\(Format.px(frame.y1 - topY))\"><title>#\(i + 1) member \(m.name): task error \(Format.value(loss))\(cls == "top" ? " (top-k)" : "")\(m.state == .failed ? " (failed)" : "")</title></rect>\n"
                )
            } else {
                w(
                    "<text class=\"ticks\" x=\"\(Format.px(cx))\" y=\"\(Format.px(frame.y1 - 6))\" text-anchor=\"middle\" font-size=\"10\" fill=\"#c0162c\">\(m.state == .failed ? "×" : "–")<title>member \(m.name): no task error (\(m.state.rawValue))</title></text>\n"
                )
            }
            let ly = frame.y1 + 12
            if vertical {
                w(
                    "<text class=\"ticks\" x=\"\(Format.px(cx + 3))\" y=\"\(Format.px(ly - 6))\" font-size=\"9\" text-anchor=\"end\" transform=\"rotate(-90 \(Format.px(cx + 3)) \(Format.px(ly - 6)))\">\(m.name)</text>\n"
                )
            } else {
                w("<text class=\"ticks\" x=\"\(Format.px(cx))\" y=\"\(Format.px(ly))\" text-anchor=\"middle\">\(m.name)</text>\n")
            }
        }
        w("</svg>\n</section>\n")
    }

    // MARK: Tuning

    /// The science readout: the FRI strip (radius-6 flash response index of every cell type,
    /// one dot per member, known ON types shaded red and OFF types blue) and the direction
    /// selectivity of T4a–d to ON edges and T5a–d to OFF edges.
    mutating func tuningSection() {
        w("<section id=\"tuning\">\n<h2>Tuning</h2>\n")
        guard let t = report.tuning else {
            w(
                "<p class=\"caption\">No tuning readout yet: members compute it after their post-training validation (unless --no-tuning), or run <code>flyvis-ensemble responses \(esc(report.directory))</code>.</p>\n</section>\n"
            )
            return
        }
        let corr = t.members.compactMap { m in m.friCorrelation.map { (m, $0, m.dsiCorrelation) } }
        w(
            "<p class=\"caption\">flyvis's flash and moving-edge analysis of every member at its best checkpoint, from <code>\(esc(t.source))</code>. Correlation to known tuning, member by member: "
        )
        w(
            corr.isEmpty
                ? "none.</p>\n"
                : corr.map { "\($0.0.name) FRI \(Format.value($0.1)) / DSI \($0.2.map(Format.value) ?? "–")" }.joined(separator: "; ")
                    + ".</p>\n")
        friStrip(t)
        dsiPlot(t)
        w("</section>\n")
    }

    mutating func friStrip(_ t: TuningReport) {
        let withFRI = t.members.filter { $0.fri.count == t.cellTypes.count }
        w(
            "<p class=\"caption\">Flash response index (radius 6) per cell type: above 0 the cell depolarises more to ON flashes, below 0 to OFF flashes. Columns shaded <span class=\"on-key\">red</span> are known ON types, <span class=\"off-key\">blue</span> known OFF types (flyvis's ground truth); a model predicts the polarity where its dots lie on the shaded side.</p>\n"
        )
        var frame = Frame(width: 900, height: 330)
        frame.width = 900
        let n = max(t.cellTypes.count, 1)
        let slot = (frame.x1 - frame.x0) / Double(n)
        let x = Scale(lo: 0, hi: Double(n), log: false, from: frame.x0, to: frame.x1, ticks: [])
        let y = Scale.fit([-1, 1], from: frame.y1, to: frame.y0, exact: true)
        openPlot("fri-strip", "Flash response index per cell type", x: x, y: y, window: nil, frame: frame)
        for (i, p) in t.knownPolarity.enumerated() {
            guard let p else { continue }
            w(
                "<rect class=\"\(p > 0 ? "known-on" : "known-off")\" data-cell-type=\"\(esc(t.cellTypes[i]))\" x=\"\(Format.px(frame.x0 + Double(i) * slot))\" y=\"\(Format.px(p > 0 ? frame.y0 : y(0)))\" width=\"\(Format.px(slot))\" height=\"\(Format.px(p > 0 ? y(0) - frame.y0 : frame.y1 - y(0)))\"/>\n"
            )
        }
        axes(frame, x: x, y: y, xLabel: "", yLabel: "FRI (radius 6)", xFormat: Format.value, yFormat: Format.value)
        w(
            "<line class=\"zero\" x1=\"\(Format.px(frame.x0))\" y1=\"\(Format.px(y(0)))\" x2=\"\(Format.px(frame.x1))\" y2=\"\(Format.px(y(0)))\"/>\n"
        )
        if withFRI.isEmpty { empty(frame, "no flash responses in the readout") }
        for (i, type) in t.cellTypes.enumerated() {
            let cx = frame.x0 + (Double(i) + 0.5) * slot
            w(
                "<text class=\"ticks\" x=\"\(Format.px(cx + 3))\" y=\"\(Format.px(frame.y1 + 6))\" font-size=\"9\" text-anchor=\"end\" transform=\"rotate(-90 \(Format.px(cx + 3)) \(Format.px(frame.y1 + 6)))\">\(esc(type))</text>\n"
            )
            for (k, m) in withFRI.enumerated() where m.fri[i].isFinite {
                let dx = withFRI.count > 1 ? (Double(k) / Double(withFRI.count - 1) - 0.5) * slot * 0.5 : 0
                let v = max(-1, min(1, m.fri[i]))
                w(
                    "<circle class=\"dot mem m\(m.member)\" data-member=\"\(m.name)\" data-cell-type=\"\(esc(type))\" cx=\"\(Format.px(cx + dx))\" cy=\"\(Format.px(y(v)))\" r=\"2.6\" fill=\"\(colors[m.member] ?? "#444")\"><title>member \(m.name) \(esc(type)): FRI \(Format.value(m.fri[i]))</title></circle>\n"
                )
            }
        }
        w("</svg>\n")
    }

    mutating func dsiPlot(_ t: TuningReport) {
        let withDSI = t.members.filter { $0.dsi.count == t.dsiColumns.count && !$0.dsi.isEmpty }
        w(
            "<p class=\"caption\">Direction selectivity index of the T4 cells to ON edges and the T5 cells to OFF edges (flyvis's DSI: vector sum of the peak responses over directions, normalised, averaged over speeds), one dot per member. The fly's T4 and T5 cells are strongly direction selective.</p>\n"
        )
        let frame = Frame(width: 640, height: 300)
        let n = max(t.dsiColumns.count, 1)
        let slot = (frame.x1 - frame.x0) / Double(n)
        let x = Scale(lo: 0, hi: Double(n), log: false, from: frame.x0, to: frame.x1, ticks: [])
        let values = withDSI.flatMap(\.dsi).filter(\.isFinite)
        let y = Scale.fit(values + [0, min(1, max(values.max() ?? 1, 1e-3))], from: frame.y1, to: frame.y0, zero: true)
        openPlot("dsi-plot", "Direction selectivity of T4 (ON edges) and T5 (OFF edges)", x: x, y: y, window: nil, frame: frame)
        axes(frame, x: x, y: y, xLabel: "", yLabel: "DSI", xFormat: Format.value, yFormat: Format.value)
        if withDSI.isEmpty { empty(frame, "no moving-edge responses in the readout") }
        for (i, c) in t.dsiColumns.enumerated() {
            let cx = frame.x0 + (Double(i) + 0.5) * slot
            w(
                "<text class=\"ticks\" x=\"\(Format.px(cx))\" y=\"\(Format.px(frame.y1 + 14))\" text-anchor=\"middle\">\(esc(c.cellType))</text>\n"
            )
            w(
                "<text class=\"ticks\" x=\"\(Format.px(cx))\" y=\"\(Format.px(frame.y1 + 27))\" text-anchor=\"middle\">\(esc(c.edge))</text>\n"
            )
            for (k, m) in withDSI.enumerated() where m.dsi[i].isFinite {
                let dx = withDSI.count > 1 ? (Double(k) / Double(withDSI.count - 1) - 0.5) * slot * 0.5 : 0
                w(
                    "<circle class=\"dot mem m\(m.member)\" data-member=\"\(m.name)\" data-cell-type=\"\(esc(c.cellType))\" cx=\"\(Format.px(cx + dx))\" cy=\"\(Format.px(y(m.dsi[i])))\" r=\"3.2\" fill=\"\(colors[m.member] ?? "#444")\"><title>member \(m.name) \(esc(c.cellType)) \(esc(c.edge)) edges: DSI \(Format.value(m.dsi[i]))</title></circle>\n"
                )
            }
        }
        w("</svg>\n")
    }

    // MARK: Table

    mutating func memberTable() {
        let position = Dictionary(uniqueKeysWithValues: report.ranked.enumerated().map { ($1.member, $0 + 1) })
        let top = report.topMembers
        w(
            "<section id=\"members-table\">\n<h2>Member table</h2>\n<table id=\"members\">\n<thead><tr><th></th><th>member</th><th>state</th><th>MPI rank</th><th>iteration</th><th>it/s</th><th>trained</th><th>best checkpoint</th><th>task error</th><th>ranked by</th><th>ranking</th><th>FRI corr. to known</th><th>DSI corr. to known</th><th>errors and problems</th></tr></thead>\n<tbody>\n"
        )
        for m in members {
            w("<tr class=\"mem m\(m.member) state-\(m.state.rawValue)\" data-member=\"\(m.name)\">")
            w(
                "<td><span class=\"sw\" style=\"background:\(colors[m.member]!)\"></span></td><td>\(m.name)</td><td class=\"state\">\(m.state.rawValue)</td>"
            )
            w("<td class=\"num\">\(m.rank.map(String.init) ?? "–")</td>")
            w("<td class=\"num\">\(m.iteration)\(m.totalIterations.map { " / \($0)" } ?? "")</td>")
            w("<td class=\"num\">\(m.iterationsPerSecond.map(Format.rate) ?? "–")</td>")
            w("<td class=\"num\">\(m.timeTrained.map(Format.duration) ?? "–")</td>")
            if let best = m.best {
                let iter = m.bestPosition.map { Self.atIteration(m, $0) } ?? ""
                w("<td class=\"best-chkpt\" data-chkpt=\"\(best.checkpoint)\">\(best.checkpoint)\(iter)</td>")
            } else {
                w("<td class=\"best-chkpt\">–</td>")
            }
            w("<td class=\"num\">\(m.taskError.map(Format.value) ?? "–")</td>")
            w("<td class=\"metric\">\(m.best.map { esc($0.metric) } ?? "–")</td>")
            w(
                "<td class=\"num\">\(m.taskError == nil && m.state != .failed ? "–" : "#\(position[m.member]!)")\(top.contains(m.member) ? " ★" : "")</td>"
            )
            let tuning = report.tuning?.member(m.member)
            w("<td class=\"num fri-corr\">\(tuning?.friCorrelation.map(Format.value) ?? "–")</td>")
            w("<td class=\"num dsi-corr\">\(tuning?.dsiCorrelation.map(Format.value) ?? "–")</td>")
            w("<td>")
            if m.state == .failed || m.error != nil {
                let at = m.failedAtIteration.map { " at iteration <b class=\"fail-iteration\">\($0)</b>" } ?? ""
                w(
                    "<div class=\"err\">\(m.state == .failed ? "failed" : "error")\(at): <span class=\"error-message\">\(esc(m.error ?? "no message recorded"))</span></div>"
                )
            }
            for p in m.problems { w("<div class=\"problem\">\(esc(p))</div>") }
            w("</td></tr>\n")
        }
        w(
            "</tbody>\n</table>\n<p class=\"caption\">★ top-k. it/s: the latest rate of a running member, else iterations over training time. Iteration and best checkpoint as of the member's last checkpoint.</p>\n</section>\n"
        )
    }

    // MARK: Axes

    struct Frame {
        var width = ReportLayout.width, height = ReportLayout.height
        var x0: Double { ReportLayout.left }
        var x1: Double { width - ReportLayout.right }
        var y0: Double { ReportLayout.top }
        var y1: Double { height - ReportLayout.bottom }
    }

    /// Opens a plot's <svg>; the data-* attributes record the axes (domain, scale, drawing box)
    /// so a reader or a test can map pixels back to values.
    mutating func openPlot(_ id: String, _ title: String, x: Scale, y: Scale, window: Int?, frame f: Frame = Frame()) {
        let (wd, ht) = (Int(f.width), Int(f.height))
        w(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" id=\"\(id)\" viewBox=\"0 0 \(wd) \(ht)\" width=\"\(wd)\" height=\"\(ht)\" style=\"max-width:\(wd)px\" role=\"img\""
        )
        w(
            " data-x-lo=\"\(x.lo)\" data-x-hi=\"\(x.hi)\" data-y-lo=\"\(y.lo)\" data-y-hi=\"\(y.hi)\" data-y-scale=\"\(y.log ? "log" : "linear")\""
        )
        w(
            " data-box=\"\(Format.px(f.x0)) \(Format.px(f.y0)) \(Format.px(f.x1)) \(Format.px(f.y1))\"\(window.map { " data-window=\"\($0)\"" } ?? "")>"
        )
        w("<title>\(esc(title))</title>\n")
    }

    mutating func axes(
        _ f: Frame, x: Scale, y: Scale, xLabel: String, yLabel: String,
        xFormat: (Double) -> String, yFormat: (Double) -> String
    ) {
        w("<g class=\"grid\">")
        for t in x.ticks where t >= x.lo && t <= x.hi {
            w("<line x1=\"\(Format.px(x(t)))\" y1=\"\(Format.px(f.y0))\" x2=\"\(Format.px(x(t)))\" y2=\"\(Format.px(f.y1))\"/>")
        }
        for t in y.ticks where t >= y.lo && t <= y.hi {
            w("<line x1=\"\(Format.px(f.x0))\" y1=\"\(Format.px(y(t)))\" x2=\"\(Format.px(f.x1))\" y2=\"\(Format.px(y(t)))\"/>")
        }
        w(
            "</g>\n<rect class=\"frame\" x=\"\(Format.px(f.x0))\" y=\"\(Format.px(f.y0))\" width=\"\(Format.px(f.x1 - f.x0))\" height=\"\(Format.px(f.y1 - f.y0))\"/>\n<g class=\"ticks\">"
        )
        for t in x.ticks where t >= x.lo && t <= x.hi {
            w("<text x=\"\(Format.px(x(t)))\" y=\"\(Format.px(f.y1 + 15))\" text-anchor=\"middle\">\(esc(xFormat(t)))</text>")
        }
        for t in y.ticks where t >= y.lo && t <= y.hi {
            w("<text x=\"\(Format.px(f.x0 - 6))\" y=\"\(Format.px(y(t) + 4))\" text-anchor=\"end\">\(esc(yFormat(t)))</text>")
        }
        let midY = (f.y0 + f.y1) / 2
        w(
            "</g>\n<text class=\"axis-label x-label\" x=\"\(Format.px((f.x0 + f.x1) / 2))\" y=\"\(Format.px(f.height - 8))\" text-anchor=\"middle\">\(esc(xLabel))</text>\n"
        )
        w(
            "<text class=\"axis-label y-label\" x=\"16\" y=\"\(Format.px(midY))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(Format.px(midY)))\">\(esc(yLabel))</text>\n"
        )
    }

    mutating func empty(_ f: Frame, _ text: String) {
        w(
            "<text class=\"empty\" x=\"\(Format.px((f.x0 + f.x1) / 2))\" y=\"\(Format.px((f.y0 + f.y1) / 2))\" text-anchor=\"middle\">\(esc(text))</text>\n"
        )
    }

    func iso(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: d)
    }
}
