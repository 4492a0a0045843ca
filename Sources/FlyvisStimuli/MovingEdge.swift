import FlyvisHex

/// flyvis's `MovingEdge` with `moving_edge_responses`'s defaults: a `MovingBar` 80 LEDs wide
/// and high — the whole monitor — centred on the monitor's left border (`bar_loc_horizontal`
/// 0), so its right edge is the one edge in view, and the offsets move it across the eye's
/// centre: the bar's intensity behind it, grey ahead. Note flyvis's class default height is 9;
/// its analysis, and so this type, uses 80.
package struct MovingEdge: CacheableStimulusSet {
    package let bar: MovingBar

    package init(
        angles: [Double] = Array(stride(from: 0.0, to: 360, by: 30)), intensities: [Double] = [0, 1],
        speeds: [Double] = [2.4, 4.8, 9.7, 13, 19, 25], offsets: Range<Int> = -10..<11, height: Double = 80,
        postPadMode: PostPadMode = .continue, tPre: Double = 1, tPost: Double = 1, dt: Double = 1.0 / 200,
        shuffleOffsets: Bool = false, seed: UInt32 = 0, extent: Int = 15
    ) throws(StimulusError) {
        bar = try MovingBar(
            name: "moving_edge", widths: [80], offsets: offsets, intensities: intensities, speeds: speeds,
            height: height, dt: dt, barLocHorizontal: 0, postPadMode: postPadMode,
            tPre: tPre, tPost: tPost, shuffleOffsets: shuffleOffsets, seed: seed, angles: angles,
            extent: extent)
    }

    package var name: String { bar.name }
    package var lattice: HexLattice { bar.lattice }
    package var dt: Double { bar.dt }
    package var time: [Double] { bar.time }
    package var sampleParameters: [(name: String, values: [Double])] { bar.sampleParameters }
    package var configuration: [(name: String, value: StimulusParameterValue)] { bar.configuration }
    package var cacheKey: String { bar.cacheKey }
    package var layout: FrameLayout { bar.layout }
    package func renderGroups(_ groups: Range<Int>, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        try bar.renderGroups(groups, into: buffer)
    }
}
