import FlyvisTestSupport
import FlyvisTuning
import Testing

/// Flash responses whose FRIs follow by hand from flyvis's definition.
///
/// Stimulus: flyvis's flash defaults, dt = 1/200, t_pre = 1 s, t_stim = 1 s, 600 frames with
/// time_k = k·dt − 1. The FRI window is −dt <= time <= t_stim: frame 199 has
/// time 199·0.005 − 1 = −0.0050000000000000044 < −0.005 and is left out, frames 200…400
/// (time 0 … 1.0) are in, frame 401 (1.005) is out. Samples in flyvis's order:
/// (radius, intensity) = (−1, 0), (6, 0), (−1, 1), (6, 1).
@Suite struct FlashResponseIndexTests {
    static let frames = 600
    static let dt = 1.0 / 200
    static let time = (0..<frames).map { Double($0) * dt - 1 }
    static let radius: [Double] = [-1, 6, -1, 6]
    static let intensity: [Double] = [0, 0, 1, 1]

    /// Responses (sample, frame, cell) from one trace per (sample, cell); `trace(sample, cell)`
    /// gives a dictionary of frame values over a baseline.
    static func responses(
        cells: Int, baseline: (Int) -> Float,
        trace: (_ sample: Int, _ cell: Int) -> [Int: Float]
    ) -> [Float] {
        var r = [Float](repeating: 0, count: 4 * frames * cells)
        for s in 0..<4 {
            for cell in 0..<cells {
                let spikes = trace(s, cell)
                for f in 0..<frames { r[(s * frames + f) * cells + cell] = spikes[f] ?? baseline(cell) }
            }
        }
        return r
    }

    static func coordinates(_ types: [String]) -> FlashCoordinates {
        FlashCoordinates(radius: radius, intensity: intensity, time: time, cellTypes: types)
    }

    static let on6 = 3, off6 = 1, onMinus1 = 2, offMinus1 = 0
    static let types = ["on", "shifted", "floor", "zero"]

    /// - "on": radius 6 ON flash peaks at 1 in the window, OFF flash stays 0: shift |0| = 0,
    ///   FRI = (1 − 0)/(1 + 0) = 1. At radius −1 the OFF flash peaks at 0.5 instead and the ON
    ///   flash stays 0: FRI = −1 (the radius selects the samples).
    /// - "shifted": radius 6 ON trace dips to −0.5 (frame 250) and peaks at 1 (frame 300),
    ///   OFF stays 0: shift |−0.5| = 0.5, on = 1.5, off = 0.5, FRI = 1/2. Decoys outside the
    ///   window change nothing: −10 at frame 199 of the OFF trace (would make the shift 10,
    ///   FRI 1/21) and +20 at frame 401 (would make off 20.5, FRI < 0); at radius −1 both
    ///   traces are 0 apart from an ON peak of 2 at frame 200 (the window's first frame) and a
    ///   decoy of 50 at frame 199: FRI = 1.
    /// - "floor": nothing below 0.2; radius 6 ON peaks at 1, OFF stays at 0.2. flyvis adds
    ///   |min| = 0.2 (not −min): on = 1.2, off = 0.4, FRI = 0.8/1.6 = 1/2 (subtracting the
    ///   minimum would give 1). Radius −1: ON peaks at 0.6 at frame 400 (the window's last
    ///   frame), OFF at 1.0: on = 0.8, off = 1.2, FRI = −0.4/2.0 = −1/5.
    /// - "zero": all responses 0: FRI = 0/(0 + 1e−16) = 0 at both radii, no NaN, no trap.
    static func standardResponses() -> [Float] {
        responses(cells: 4, baseline: { $0 == 2 ? 0.2 : 0 }) { s, cell in
            switch (cell, s) {
            case (0, on6): return [300: 1]
            case (0, offMinus1): return [300: 0.5]
            case (1, on6): return [250: -0.5, 300: 1]
            case (1, off6): return [199: -10, 401: 20]
            case (1, onMinus1): return [199: 50, 200: 2]
            case (2, on6): return [300: 1]
            case (2, onMinus1): return [400: 0.6]
            case (2, offMinus1): return [300: 1.0]
            default: return [:]
            }
        }
    }

    @Test func handDerivedIndices() throws {
        let r = Self.standardResponses()
        let c = Self.coordinates(Self.types)
        let fri6 = try FlashResponseIndex.compute(responses: r, coordinates: c, radius: 6)
        let friMinus1 = try FlashResponseIndex.compute(responses: r, coordinates: c, radius: -1)
        #expect(maxAbsDiff(fri6, [1, 0.5, 0.5, 0]) <= 1e-6, "radius 6: \(fri6)")
        #expect(maxAbsDiff(friMinus1, [-1, 1, -0.2, 0]) <= 1e-6, "radius -1: \(friMinus1)")
    }

    @Test func windowFramesAreFlyvis() {
        let frames = FlashResponseIndex.window(time: Self.time, dt: Self.dt, tStim: 1)
        #expect(frames.first == 200 && frames.last == 400 && frames.count == 201, "\(frames.first ?? -1)…\(frames.last ?? -1)")
    }

    /// NaN frames are skipped in the minimum and the maxima (xarray's default): NaN over
    /// frames 380…599 of every sample and cell, i.e. the end of the window and after it, leaves
    /// every FRI as in `handDerivedIndices` (no peak or dip lies there). A cell whose window is
    /// all NaN gets NaN (flyvis would drop the radius altogether).
    @Test func nanFramesAreSkipped() throws {
        var r = Self.standardResponses()
        let cells = 4
        for s in 0..<4 { for f in 380..<Self.frames { for cell in 0..<cells { r[(s * Self.frames + f) * cells + cell] = .nan } } }
        // "floor"'s radius −1 ON peak sat at frame 400, now NaN: on = 0.2 + 0.2, off = 1.2,
        // FRI = −0.8/1.6 = −1/2.
        let c = Self.coordinates(Self.types)
        let fri6 = try FlashResponseIndex.compute(responses: r, coordinates: c, radius: 6)
        let friMinus1 = try FlashResponseIndex.compute(responses: r, coordinates: c, radius: -1)
        #expect(maxAbsDiff(fri6, [1, 0.5, 0.5, 0]) <= 1e-6, "radius 6: \(fri6)")
        #expect(maxAbsDiff(friMinus1, [-1, 1, -0.5, 0]) <= 1e-6, "radius -1: \(friMinus1)")

        for s in 0..<4 { for f in 0..<Self.frames { r[(s * Self.frames + f) * cells + 3] = .nan } }
        let allNaN = try FlashResponseIndex.compute(responses: r, coordinates: c, radius: 6)
        #expect(allNaN.count == 4 && allNaN[3].isNaN && maxAbsDiff(Array(allNaN[0..<3]), [1, 0.5, 0.5]) <= 1e-6, "\(allNaN)")
    }

    @Test func badInputIsAnError() {
        let r = Self.standardResponses()
        let c = Self.coordinates(Self.types)
        #expect(throws: TuningError.shape(what: "responses", expected: r.count, found: r.count - 1)) {
            try FlashResponseIndex.compute(responses: Array(r.dropLast()), coordinates: c, radius: 6)
        }
        #expect(throws: TuningError.flashSamples(radius: 3, on: 0, off: 0)) {
            try FlashResponseIndex.compute(responses: r, coordinates: c, radius: 3)
        }
        var twoOn = c
        twoOn.intensity = [1, 1, 1, 1]
        #expect(throws: TuningError.flashSamples(radius: 6, on: 2, off: 0)) {
            try FlashResponseIndex.compute(responses: r, coordinates: twoOn, radius: 6)
        }
        var alternating = c
        alternating.alternations = [0, 1]
        #expect(throws: TuningError.self) { try FlashResponseIndex.compute(responses: r, coordinates: alternating, radius: 6) }
        var late = c
        late.time = late.time.map { $0 + 10 }
        #expect(throws: TuningError.emptyWindow(from: -Self.dt, to: 1)) {
            try FlashResponseIndex.compute(responses: r, coordinates: late, radius: 6)
        }
    }
}
