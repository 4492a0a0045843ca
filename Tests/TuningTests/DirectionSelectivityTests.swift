import FlyvisTestSupport
import FlyvisTuning
import Foundation
import Testing

/// Moving-edge responses whose DSI and preferred direction follow by hand from flyvis's
/// definition.
///
/// Stimulus: 8 angles 0°, 45°, …, 315°, one width (80), intensities 0 and 1, speeds 19 and 25
/// columns/s, offsets (−10, 11), dt = 1/200, t_pre = 1 s, 470 frames, time_k = k·dt − 1.
/// Time masks: the edge crosses the window from t = 0 to
/// t_end = (24.75 + 22.5)/5.8/speed, i.e. 0.42877 s at speed 19 (frames 200…285) and 0.32586 s
/// at speed 25 (frames 200…265).
///
/// Each trace is −0.3 (rectified to 0) except: its peak value p at the mask's last frame (285 or
/// 265), so a mask one frame short misses it; decoys of 10 + 10·|p| at frame 199 and at the
/// first frame after the mask, so a mask one frame long catches them; NaN at frame 230 (inside
/// the mask, skipped); and NaN padding from frame 400 on for the speed-25 edges (flyvis pads the
/// faster edge to the slower one's length).
///
/// For cosine tuning r(θ) = a + b·cos(θ − φ) with a >= b >= 0 over N = 8 equally spaced angles,
/// Σ r(θ)·e^{iθ} = a·Σ e^{iθ} + (b/2)·(N·e^{iφ} + e^{−iφ}·Σ e^{2iθ}) = (N·b/2)·e^{iφ} (both sums
/// over the unit roots vanish), and Σ |r(θ)| = N·a.
@Suite struct DirectionSelectivityTests {
    static let frames = 470
    static let time = (0..<frames).map { Double($0) / 200 - 1 }
    static let angles = stride(from: 0.0, to: 360, by: 45).map { $0 }
    static let lastMaskFrame: [Double: Int] = [19: 285, 25: 265]

    /// Samples in an order unlike flyvis's (speed-major, angles descending): the grid is
    /// sorted by value, not by position.
    static let samples: [(angle: Double, intensity: Double, speed: Double)] = {
        var out = [(Double, Double, Double)]()
        for speed in [25.0, 19.0] {
            for intensity in [1.0, 0.0] { for angle in angles.reversed() { out.append((angle, intensity, speed)) } }
        }
        return out
    }()

    static func cosine(_ angle: Double, a: Double, b: Double, phi: Double) -> Double {
        a + b * cos((angle - phi) * Double.pi / 180)
    }

    /// The peak of each cell:
    /// - "cos": φ = 60°, intensity 1: a = 2, b = 1; intensity 0: a = 1, b = 1. Vector sums 4·e^{iφ}
    ///   for both intensities, normalisation max(8·2, 8·1) = 16 shared by both intensities:
    ///   DSI = 4/16 = 1/4 for both (the OFF DSI would be 4/8 = 1/2 with its own
    ///   normalisation). Preferred direction π/3.
    /// - "halfwave": intensity 1: r = cos(θ − 90°), negative values rectified to 0. Peaks 1 at
    ///   90°, √2/2 at 45° and 135°: vector sum e^{iπ/2}·(1 + 2·(√2/2)·cos 45°) = 2·e^{iπ/2},
    ///   Σ |r| = 1 + √2, DSI = 2/(1 + √2) = 2(√2 − 1), direction π/2. Intensity 0: no response,
    ///   DSI 0/(1 + √2 + 1e−15) = 0, direction atan2(0, 0) = 0.
    /// - "zero": responses 0 in every frame (no baseline, no decoys): DSI 0 and direction 0 at
    ///   both intensities, no NaN.
    /// - "speed": speed 19 cosine a = 2, b = 1, φ = 225°; speed 25 flat at 1; both
    ///   intensities alike. DSI per speed 1/4 and 0, mean 1/8 (normalised per speed, then
    ///   averaged). Direction: sum over speeds 4·e^{i·225°} + 0, atan2 gives −3π/4.
    static func peak(cell: Int, angle: Double, intensity: Double, speed: Double) -> Double {
        switch cell {
        case 0: return intensity == 1 ? cosine(angle, a: 2, b: 1, phi: 60) : cosine(angle, a: 1, b: 1, phi: 60)
        case 1: return intensity == 1 ? cosine(angle, a: 0, b: 1, phi: 90) : 0
        case 2: return 0
        default: return speed == 19 ? cosine(angle, a: 2, b: 1, phi: 225) : 1
        }
    }
    static let types = ["cos", "halfwave", "zero", "speed"]
    static let expectedDSI: [Double] = [0.25, 0.25, 0, 2 * (2.0.squareRoot() - 1), 0, 0, 0.125, 0.125]  // (cell, intensity 0/1)
    static let expectedDirection: [Double] = [Double.pi / 3, Double.pi / 3, 0, Double.pi / 2, 0, 0, -3 * Double.pi / 4, -3 * Double.pi / 4]

    static func build() -> (responses: [Float], coordinates: MovingEdgeCoordinates) {
        let cells = types.count
        var r = [Float](repeating: 0, count: samples.count * frames * cells)
        for (s, sample) in samples.enumerated() {
            let last = lastMaskFrame[sample.speed]!
            for cell in 0..<cells {
                let p = peak(cell: cell, angle: sample.angle, intensity: sample.intensity, speed: sample.speed)
                for f in 0..<frames {
                    var v: Float
                    if cell == 2 {
                        v = 0
                    } else if f == last {
                        v = Float(p)
                    } else if f == 199 || f == last + 1 {
                        v = Float(10 + 10 * abs(p))
                    } else if f == 230 {
                        v = .nan
                    } else {
                        v = -0.3
                    }
                    if sample.speed == 25 && f >= 400 { v = .nan }
                    r[(s * frames + f) * cells + cell] = v
                }
            }
        }
        let c = MovingEdgeCoordinates(
            angle: samples.map(\.angle), width: samples.map { _ in 80 },
            intensity: samples.map(\.intensity), speed: samples.map(\.speed),
            time: time, cellTypes: types)
        return (r, c)
    }

    @Test func timeMasksSelectFlyvisFrames() throws {
        for (speed, last) in Self.lastMaskFrame {
            let mask = try MovingEdgeTimeMask.masks(speed: [speed], time: Self.time, offsets: [-10, 11])
            let frames = mask.indices.filter { mask[$0] }
            #expect(
                frames.first == 200 && frames.last == last && frames.count == last - 199,
                "speed \(speed): \(frames.first ?? -1)…\(frames.last ?? -1)")
            let w = try MovingEdgeTimeMask.window(speed: speed, offsets: [-10, 11])
            #expect(w.start == 0 && abs(w.end - 47.25 / 5.8 / speed) <= 1e-12)
        }
    }

    @Test func handDerivedIndexAndDirection() throws {
        let (r, c) = Self.build()
        let dsi = try DirectionSelectivity.index(responses: r, coordinates: c)
        #expect(dsi.intensity == [0, 1] && dsi.cellTypes == Self.types)
        #expect(maxAbsDiff(dsi.values, Self.expectedDSI) <= 1e-6, "DSI \(dsi.values)")
        let pd = try DirectionSelectivity.preferredDirection(responses: r, coordinates: c)
        #expect(pd.intensity == [0, 1])
        #expect(maxAbsDiff(pd.values, Self.expectedDirection) <= 1e-6, "directions \(pd.values)")
    }

    /// The peaks themselves: p inside the mask, decoys outside ignored, NaN skipped; 0 for a
    /// trace that is negative throughout the mask.
    @Test func peaksAreRectifiedMaximaInsideTheMask() throws {
        let (r, c) = Self.build()
        let peaks = try DirectionSelectivity.peakResponses(responses: r, coordinates: c)
        var expected = [Double]()
        for sample in Self.samples {
            for cell in 0..<Self.types.count {
                expected.append(max(0, Self.peak(cell: cell, angle: sample.angle, intensity: sample.intensity, speed: sample.speed)))
            }
        }
        #expect(maxAbsDiff(peaks.map(Double.init), expected) <= 1e-6)
    }

    @Test func badInputIsAnError() {
        let (r, c) = Self.build()
        #expect(throws: TuningError.shape(what: "responses", expected: r.count, found: r.count - 1)) {
            try DirectionSelectivity.index(responses: Array(r.dropLast()), coordinates: c)
        }
        var repeated = c
        repeated.angle[1] = repeated.angle[0]
        #expect(throws: TuningError.self) { try DirectionSelectivity.index(responses: r, coordinates: repeated) }
        var short = c
        short.speed.removeLast()
        #expect(throws: TuningError.shape(what: "speed", expected: c.samples, found: c.samples - 1)) {
            try DirectionSelectivity.preferredDirection(responses: r, coordinates: short)
        }
        var narrow = c
        narrow.offsets = [-10]
        #expect(throws: TuningError.self) { try DirectionSelectivity.index(responses: r, coordinates: narrow) }
        var stopped = c
        stopped.speed[0] = 0
        #expect(throws: TuningError.self) { try DirectionSelectivity.index(responses: r, coordinates: stopped) }
    }
}
