/// The frames in which a moving edge crosses the central columns, per speed: flyvis 1.2.0's
/// `get_time_masks`, `time_window` and `mask_between_seconds`
/// (`flyvis.analysis.moving_bar_responses`), with `peak_responses`'s default columns.
///
/// The edge starts at `offsets[0]` and ends at `offsets[1]` LEDs (2.25° each; a column is 5.8°).
/// The window runs from the edge at column offsets[0]·2.25/5.8 to column
/// (offsets[1] − 1)·2.25/5.8 + 2.25/5.8 (flyvis adds one LED on the far side to make it
/// symmetric about the central column), at `speed` columns per second, from the edge's start at
/// t = 0. With the defaults (−10, 11) that is t in [0, 47.25/5.8/speed]: frames 200…285 of a
/// speed-19 edge and 200…265 of a speed-25 edge at dt = 1/200, t_pre = 1.
package enum MovingEdgeTimeMask {
    /// (t_start, t_end) in seconds for an edge at `speed`; the arithmetic follows flyvis's order
    /// so that frames on the boundary fall on the same side.
    package static func window(speed: Double, offsets: [Double]) throws(TuningError) -> (start: Double, end: Double) {
        guard offsets.count == 2 else {
            throw .invalidConfig(key: "offsets", problem: "needs two values, start and end (got \(offsets))")
        }
        let fromDegree = offsets[0] * 2.25
        let toDegree = (offsets[1] - 1) * 2.25
        let fromColumn = fromDegree / 5.8
        let toColumn = toDegree / 5.8 + 2.25 / 5.8
        let startInColumns = offsets[0] * 2.25 / 5.8
        let endInColumns = offsets[1] * 2.25 / 5.8
        // flyvis asserts that the edge's path covers the window.
        guard abs(startInColumns) >= abs(fromColumn), abs(endInColumns) >= abs(toColumn) else {
            throw .invalidConfig(key: "offsets", problem: "\(offsets) do not cover the central columns")
        }
        let start = (abs(startInColumns) - abs(fromColumn)) / speed
        let end = start + (toColumn - fromColumn) / speed
        return (start, end)
    }

    /// One mask per sample, (sample, frame) flattened: true where t_start <= time <= t_end.
    package static func masks(speed: [Double], time: [Double], offsets: [Double]) throws(TuningError) -> [Bool] {
        var cache = [Double: (Double, Double)]()
        var out = [Bool]()
        out.reserveCapacity(speed.count * time.count)
        for s in speed {
            let w: (Double, Double)
            if let hit = cache[s] {
                w = hit
            } else {
                let fresh = try window(speed: s, offsets: offsets)
                w = (fresh.start, fresh.end)
                cache[s] = w
            }
            for t in time { out.append(t >= w.0 && t <= w.1) }
        }
        return out
    }
}
