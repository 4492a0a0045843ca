import FlyvisHex

/// flyvis's `MovingBar`: a bar `width` LEDs wide (2.25° each) and `height` LEDs high, stepped
/// across the eye one LED per offset at each speed (in half ommatidia, 5.8°/2, per second),
/// for every angle, width and intensity, on a grey background (0.5). Defaults are
/// `moving_bar_responses`'s; `MovingEdge` is the same stimulus with a bar wider than the eye.
///
/// Each (angle, width, intensity) group's offsets are rendered once (flyvis's
/// `RenderedOffsets`); a sample is that group resampled to dt over the time the bar takes at
/// its speed (`resample`), padded with grey for t_pre before, continued for t_post after
/// (`post_pad_mode`), and padded with NaN to the slowest speed's length.
///
/// Samples are flyvis's: angle, width, intensity, speed, the last varying fastest.
package struct MovingBar: CacheableStimulusSet {
    package let name: String
    package let widths: [Double]
    package let offsets: Range<Int>
    package let intensities: [Double]
    package let speeds: [Double]
    package let height: Double
    package let dt: Double
    package let barLocHorizontal: Double
    package let postPadMode: PostPadMode
    package let tPre: Double
    package let tPost: Double
    /// Show each sample's resampled frames in a random order (numpy's RandomState(seed)).
    package let shuffleOffsets: Bool
    package let seed: UInt32
    package let angles: [Double]
    package let lattice: HexLattice
    package let layout: FrameLayout
    /// The bar on the unrotated monitor per (width, offset).
    let bars: [BarRenderer.Bar]

    /// One LED of the monitor flyvis models (Gruntman et al. 2018): 2.25° (`np.radians(2.25)`).
    static let ledWidth = 2.25 * (Double.pi / 180)
    /// One ommatidium: 5.8°.
    static let ommatidiumWidth = 5.8 * (Double.pi / 180)
    static let background = 0.5

    /// - Parameters:
    ///   - widths: bar widths in LEDs (2.25°).
    ///   - offsets: the bar's positions in LEDs from the centre, stepped in order (flyvis's
    ///     `(start, stop)`).
    ///   - intensities: bar intensities in [0, 1] (the picture goes through 8 bits).
    ///   - speeds: in half ommatidia (2.9°) per second.
    ///   - height: in LEDs.
    ///   - barLocHorizontal: the bar's horizontal place on the 180° monitor, in radians (π/2 is
    ///     the centre).
    ///   - shuffleOffsets: play each sample's frames in a random order (flyvis's control for
    ///     motion); `seed` seeds numpy's RandomState as flyvis's `seed` does.
    ///   - angles: directions of motion in degrees (0 moves right, 90 up).
    ///   - extent: the lattice; hexals keep flyvis's coordinates at every extent.
    package init(
        widths: [Double] = [1, 2, 4], offsets: Range<Int> = -10..<11, intensities: [Double] = [0, 1],
        speeds: [Double] = [2.4, 4.8, 9.7, 13, 19, 25], height: Double = 9, dt: Double = 1.0 / 200,
        barLocHorizontal: Double = 90 * (Double.pi / 180), postPadMode: PostPadMode = .continue,
        tPre: Double = 1, tPost: Double = 1, shuffleOffsets: Bool = false, seed: UInt32 = 0,
        angles: [Double] = Array(stride(from: 0.0, to: 360, by: 30)), extent: Int = 15
    ) throws(StimulusError) {
        try self.init(
            name: "moving_bar", widths: widths, offsets: offsets, intensities: intensities, speeds: speeds,
            height: height, dt: dt, barLocHorizontal: barLocHorizontal, postPadMode: postPadMode,
            tPre: tPre, tPost: tPost, shuffleOffsets: shuffleOffsets, seed: seed, angles: angles, extent: extent)
    }

    init(
        name: String, widths: [Double], offsets: Range<Int>, intensities: [Double], speeds: [Double],
        height: Double, dt: Double, barLocHorizontal: Double, postPadMode: PostPadMode,
        tPre: Double, tPost: Double, shuffleOffsets: Bool, seed: UInt32, angles: [Double], extent: Int
    ) throws(StimulusError) {
        let check = ParameterCheck(set: name)
        try check.nonEmpty(angles, "angles")
        try check.finite(angles, "angles")
        try check.nonEmpty(widths, "widths")
        try check.positive(widths, "widths")
        try check.nonEmpty(intensities, "intensities")
        try check.finite(intensities, "intensities")
        if let bad = intensities.first(where: { $0 < 0 || $0 > 1 }) {
            throw .invalidParameter(
                set: name, name: "intensities",
                problem: "contains \(bad); flyvis renders bars through 8-bit images, so use values in [0, 1]")
        }
        try check.nonEmpty(speeds, "speeds")
        try check.positive(speeds, "speeds")
        if offsets.isEmpty {
            throw .invalidParameter(set: name, name: "offsets", problem: "\(offsets) is empty; give start < stop, e.g. −10..<11")
        }
        try check.positive([height], "height")
        try check.positive([dt], "dt")
        try check.finite([barLocHorizontal], "bar_loc_horizontal")
        try check.nonNegative(tPre, "t_pre")
        try check.nonNegative(tPost, "t_post")
        try check.extent(extent)
        self.name = name
        self.widths = widths
        self.offsets = offsets
        self.intensities = intensities
        self.speeds = speeds
        self.height = height
        self.dt = dt
        self.barLocHorizontal = barLocHorizontal
        self.postPadMode = postPadMode
        self.tPre = tPre
        self.tPost = tPost
        self.shuffleOffsets = shuffleOffsets
        self.seed = seed
        self.angles = angles
        lattice = HexLattice(extent: extent)

        // HexEye.render_bar's pixel arithmetic, left to right as Python evaluates it.
        let side = Double(HexEye.monitorSide), ppo = Double(HexEye.pixelsPerOmmatidium)
        let halfTurn = 180 * (Double.pi / 180), quarterTurn = 90 * (Double.pi / 180)
        func pixels(_ x: Double, _ what: String) throws(StimulusError) -> Int {
            guard let p = pythonInt(x), abs(p) < 1 << 30 else {
                throw .invalidParameter(
                    set: name, name: what, problem: "puts the bar \(x) pixels from the monitor's origin; use values within the monitor")
            }
            return p
        }
        let heightPixels = try pixels(Self.ledWidth * height / Self.ommatidiumWidth * ppo, "height")
        let vertical = try pixels(side * quarterTurn / halfTurn, "height")
        var bars: [BarRenderer.Bar] = []
        for width in widths {
            let widthPixels = try pixels(width * Self.ledWidth / Self.ommatidiumWidth * ppo, "widths")
            for offset in offsets {
                let theta = barLocHorizontal + Double(offset) * Self.ledWidth
                let horizontal = try pixels(side * theta / halfTurn, "offsets")
                bars.append(
                    BarRenderer.bar(
                        widthPixels: widthPixels, heightPixels: heightPixels,
                        horizontalPixel: horizontal, verticalPixel: vertical))
            }
        }
        self.bars = bars

        // The time the bar takes at each speed, and each sample's frame schedule.
        let n = offsets.count
        let tStim = speeds.map { (Double(n) * Self.ledWidth) / ($0 * Self.ommatidiumWidth) }
        let tMax = tStim.max()!
        /// flyvis's pads after resampling: grey before, post_pad_mode after, NaN to the slowest speed.
        func padded(_ resampled: [Int32], _ t: Double) throws(StimulusError) -> [Int32] {
            let before = try check.frames(Resampling.padding(duration: t + tPre, dt: dt, current: resampled.count))
            var schedule = [Int32](repeating: FrameSource.background, count: before) + resampled
            let after = try check.frames(Resampling.padding(duration: t + tPre + tPost, dt: dt, current: schedule.count))
            if after > 0 {
                switch postPadMode {
                case .value:
                    schedule += [Int32](repeating: FrameSource.background, count: after)
                case .continue:
                    guard let last = schedule.last else {
                        throw .invalidParameter(
                            set: name, name: "speeds",
                            problem: "leave no frame to continue at dt \(dt) and t_pre \(tPre); lower dt or raise t_pre")
                    }
                    schedule += [Int32](repeating: last, count: after)
                case .reflect:
                    // torch's reflect padding mirrors about the last frame, which it does not repeat.
                    guard after < schedule.count else {
                        throw .invalidParameter(
                            set: name, name: "t_post",
                            problem:
                                "needs \(after) reflected frames but the movie has \(schedule.count) (torch requires fewer); shorten t_post or use post_pad_mode continue"
                        )
                    }
                    let m = schedule.count
                    schedule += (0..<after).map { schedule[m - 2 - $0] }
                }
            }
            let missing = try check.frames(Resampling.padding(duration: tMax + tPre + tPost, dt: dt, current: schedule.count))
            schedule += [Int32](repeating: FrameSource.missing, count: missing)
            _ = try check.frames(schedule.count)
            return schedule
        }
        let groups = angles.count * widths.count * intensities.count
        let samples = groups * speeds.count
        var resampled: [[Int32]] = []
        for t in tStim {
            resampled.append(Resampling.indices(count: n, steps: try check.frames(pythonInt(t / dt))))
        }
        var schedules: [[Int32]] = []
        var sampleSchedule: [Int]
        if shuffleOffsets {
            // Each group's resampled frames in a random order, drawn speed by speed and group by
            // group. flyvis shuffles when the set is made and again when its analysis sets dt
            // (stimulus_response), which resamples; the analysis sees the second draw.
            var random = NumpyRandomState(seed: seed)
            for pass in 0..<2 {
                for (k, indices) in resampled.enumerated() {
                    for _ in 0..<groups {
                        let order = random.permutation(indices.count)
                        if pass == 1 { schedules.append(try padded(order.map { indices[$0] }, tStim[k])) }
                    }
                }
            }
            sampleSchedule = (0..<samples).map { ($0 % speeds.count) * groups + $0 / speeds.count }
        } else {
            for (k, indices) in resampled.enumerated() { schedules.append(try padded(indices, tStim[k])) }
            sampleSchedule = (0..<samples).map { $0 % speeds.count }
        }
        layout = FrameLayout(
            groups: groups, framesPerGroup: n, hexals: lattice.count,
            sampleGroup: (0..<samples).map { $0 / speeds.count },
            sampleSchedule: sampleSchedule, schedules: schedules, background: Float(Self.background))
    }

    package var time: [Double] { analysisTime(tPre: tPre) }

    package var sampleParameters: [(name: String, values: [Double])] {
        let s = speeds.count, i = intensities.count, w = widths.count
        let samples = 0..<layout.sampleCount
        return [
            ("angle", samples.map { angles[$0 / (s * i * w)] }),
            ("width", samples.map { widths[$0 / (s * i) % w] }),
            ("intensity", samples.map { intensities[$0 / s % i] }),
            ("speed", samples.map { speeds[$0 % s] }),
        ]
    }

    package var configuration: [(name: String, value: StimulusParameterValue)] {
        [
            ("widths", .numbers(widths)), ("offsets", .numbers([Double(offsets.lowerBound), Double(offsets.upperBound)])),
            ("intensities", .numbers(intensities)), ("speeds", .numbers(speeds)), ("height", .number(height)),
            ("bar_loc_horizontal", .number(barLocHorizontal)), ("shuffle_offsets", .number(shuffleOffsets ? 1 : 0)),
            ("post_pad_mode", .string(postPadMode.rawValue)), ("t_pre", .number(tPre)), ("t_post", .number(tPost)),
            ("dt", .number(dt)), ("angles", .numbers(angles)),
        ]
    }

    package var cacheKey: String {
        "\(name) v1 extent=\(lattice.extent) angles=\(angles) widths=\(widths) intensities=\(intensities) "
            + "offsets=\(offsets.lowerBound)..<\(offsets.upperBound) height=\(height) bar_loc_horizontal=\(barLocHorizontal)"
    }

    /// Renders groups (angle, width, intensity; flyvis's order), one angle's pixel table at a time.
    package func renderGroups(_ groups: Range<Int>, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        try layout.check(groups: groups, buffer: buffer.count, set: name)
        var renderer = BarRenderer(eye: HexEye.shared(extent: lattice.extent))
        let n = lattice.count, perGroup = layout.groupSize
        let w = widths.count, i = intensities.count
        for (k, group) in groups.enumerated() {
            renderer.prepare(angle: angles[group / (w * i)])
            let width = group / i % w, intensity = intensities[group % i]
            for o in 0..<offsets.count {
                let frame = UnsafeMutableBufferPointer(rebasing: buffer[(k * perGroup + o * n)..<(k * perGroup + (o + 1) * n)])
                renderer.render(
                    bar: bars[width * offsets.count + o], intensity: intensity,
                    background: Self.background, into: frame)
            }
        }
    }
}
