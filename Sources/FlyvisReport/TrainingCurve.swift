import Foundation

/// A member's training loss, smoothed and reduced to what the plot can show: at most two
/// points (the smoothed minimum and maximum, in order) per pixel column, plus the first and
/// last point. A 250,000-iteration history thus costs the page a few thousand points, and no
/// spike or dip wider than the smoothing window disappears.
package struct TrainingCurve: Sendable, Equatable {
    /// Length of the raw history.
    package var iterations: Int
    package var window: Int
    package var points: [CurvePoint]

    package static let empty = TrainingCurve(iterations: 0, window: 1, points: [])

    package init(iterations: Int, window: Int, points: [CurvePoint]) {
        self.iterations = iterations
        self.window = window
        self.points = points
    }

    /// Smooths `losses` (one per iteration) with a trailing running mean of `window` iterations
    /// and reduces it to `columns` columns spanning iterations `0..<axisIterations`.
    package static func reduce(_ losses: [Double], window: Int, axisIterations: Int, columns: Int) -> TrainingCurve {
        let smoothed = runningMean(losses, window: window)
        var pts = [CurvePoint]()
        let span = Double(max(axisIterations, losses.count, 1))
        if losses.count <= 2 * columns {
            for (i, v) in smoothed.enumerated() { if let v { pts.append(CurvePoint(x: Double(i), y: v)) } }
            return TrainingCurve(iterations: losses.count, window: window, points: pts)
        }
        pts.reserveCapacity(2 * columns + 2)
        var column = -1
        var lo = (i: 0, v: Double.infinity), hi = (i: 0, v: -Double.infinity)
        func flush() {
            guard lo.v <= hi.v else { return }
            let pair = lo.i <= hi.i ? [lo, hi] : [hi, lo]
            for p in pair where pts.last?.x != Double(p.i) { pts.append(CurvePoint(x: Double(p.i), y: p.v)) }
        }
        var first: (Int, Double)?, last: (Int, Double)?
        for (i, value) in smoothed.enumerated() {
            guard let v = value else { continue }
            if first == nil { first = (i, v) }
            last = (i, v)
            let c = min(columns - 1, Int(Double(i) / span * Double(columns)))
            if c != column {
                flush()
                column = c
                lo = (i, v)
                hi = (i, v)
            } else {
                if v < lo.v { lo = (i, v) }
                if v > hi.v { hi = (i, v) }
            }
        }
        flush()
        if let f = first, pts.first?.x != Double(f.0) { pts.insert(CurvePoint(x: Double(f.0), y: f.1), at: 0) }
        if let l = last, pts.last?.x != Double(l.0) { pts.append(CurvePoint(x: Double(l.0), y: l.1)) }
        return TrainingCurve(iterations: losses.count, window: window, points: pts)
    }

    /// Trailing mean of the finite values among the last `window` entries (nil where there are
    /// none). Compensated (Neumaier) sums keep the window exact after a huge value leaves it,
    /// as happens when a diverging member's loss explodes.
    package static func runningMean(_ values: [Double], window: Int) -> [Double?] {
        let w = max(1, window)
        var out = [Double?](repeating: nil, count: values.count)
        var sum = 0.0, compensation = 0.0, count = 0
        func add(_ x: Double) {
            let t = sum + x
            compensation += abs(sum) >= abs(x) ? (sum - t) + x : (x - t) + sum
            sum = t
        }
        for i in values.indices {
            let v = values[i]
            if v.isFinite { add(v); count += 1 }
            if i >= w {
                let old = values[i - w]
                if old.isFinite { add(-old); count -= 1 }
            }
            if count > 0 { out[i] = (sum + compensation) / Double(count) }
        }
        return out
    }

    /// The running-mean window the report uses for an axis of `iterations`: 4% of the axis, so
    /// the smoothing looks the same whatever the run length (per-batch losses are noisy enough
    /// that less leaves 50 overlapping members unreadable).
    package static func window(forAxis iterations: Int) -> Int { max(1, iterations / 25) }
}

/// Keeps the minimum and maximum (in order) per pixel column of a sorted series, plus its
/// first and last point: the validation curves of long runs with many checkpoints.
func decimate(_ points: [CurvePoint], columns: Int, x: (Double) -> Double) -> [CurvePoint] {
    guard points.count > 2 * columns, let first = points.first, let last = points.last else { return points }
    var out: [CurvePoint] = [first]
    var lo = first, hi = first
    var column = Int(x(first.x).rounded(.down))
    func flush() {
        for p in lo.x <= hi.x ? [lo, hi] : [hi, lo] where out.last != p { out.append(p) }
    }
    for p in points.dropFirst() {
        let c = Int(x(p.x).rounded(.down))
        if c != column {
            flush()
            column = c
            lo = p
            hi = p
        } else {
            if p.y < lo.y { lo = p }
            if p.y > hi.y { hi = p }
        }
    }
    flush()
    if out.last != last { out.append(last) }
    return out
}
