/// The flash response index (FRI): how much more a cell responds to an ON flash than to an OFF
/// flash of the same radius, in [−1, 1]. flyvis 1.2.0's
/// `flyvis.analysis.flash_responses.flash_response_index`, step for step:
///
/// 1. frames with `−dt <= time <= t_stim` (float64 comparison on the given time; with
///    time = k·dt − t_pre the nominal −dt frame rounds to just below −dt and is left out, so the
///    defaults keep frames 200…400 of 600);
/// 2. the samples of this radius;
/// 3. the nonnegative shift: every response is raised by |min| over those frames and both
///    intensities, per cell (|min|, not −min: a positive minimum raises it further);
/// 4. the peaks `on`, `off`: the maxima over the window of the ON and OFF samples;
/// 5. FRI = (on − off) / (on + off + 1e−16).
///
/// Minima and maxima skip NaN frames, like xarray's. Responses stay float32 up to the quotient;
/// flyvis divides its float32 array in place, so the quotient is rounded to float32 too.
package enum FlashResponseIndex {
    /// The FRI of every cell (in `coordinates.cellTypes` order) at flash radius `radius`
    /// (flyvis uses 6 and −1). A cell with no finite response in the window gets NaN; flyvis
    /// would drop the whole radius there (`dropna(how='any')`).
    package static func compute(
        responses: [Float], coordinates c: FlashCoordinates, radius: Double,
        onIntensity: Double = 1, offIntensity: Double = 0,
        nonnegative: Bool = true
    ) throws(TuningError) -> [Double] {
        try c.validate(responsesCount: responses.count)
        let atRadius = c.radius.indices.filter { c.radius[$0] == radius }
        let on = atRadius.filter { c.intensity[$0] == onIntensity }
        let off = atRadius.filter { c.intensity[$0] == offIntensity }
        guard on.count == 1, off.count == 1 else { throw .flashSamples(radius: radius, on: on.count, off: off.count) }
        let frames = window(time: c.time, dt: c.dt, tStim: c.tStim)
        guard !frames.isEmpty else { throw .emptyWindow(from: -c.dt, to: c.tStim) }

        let cells = c.cells
        func value(_ sample: Int, _ frame: Int, _ cell: Int) -> Float {
            responses[(sample * c.frames + frame) * cells + cell]
        }
        var fri = [Double](repeating: .nan, count: cells)
        for cell in 0..<cells {
            var shift: Float = 0
            if nonnegative {
                var minimum = Float.nan
                for s in atRadius {
                    for f in frames {
                        let v = value(s, f, cell)
                        if !v.isNaN, minimum.isNaN || v < minimum { minimum = v }
                    }
                }
                shift = abs(minimum)
            }
            func peak(_ sample: Int) -> Float {
                var best = Float.nan
                for f in frames {
                    let v = value(sample, f, cell) + shift
                    if !v.isNaN, best.isNaN || v > best { best = v }
                }
                return best
            }
            let onPeak = peak(on[0]), offPeak = peak(off[0])
            let quotient = Double(onPeak - offPeak) / (Double(onPeak + offPeak) + 1e-16)
            fri[cell] = Double(Float(quotient))
        }
        return fri
    }

    /// The frames flyvis's FRI looks at: `−dt <= time <= t_stim`.
    package static func window(time: [Double], dt: Double, tStim: Double) -> [Int] {
        time.indices.filter { -dt <= time[$0] && time[$0] <= tStim }
    }
}
