import FlyvisHex

/// flyvis's `Flashes` with `flash_responses`'s defaults: full-field (radius −1) and central
/// disks (radius in hexals) that step from the dynamic range's middle to its low or high end.
/// Each sample alternates grey (0: t_pre seconds) and the flash (1: t_stim seconds).
///
/// Samples are flyvis's: intensity outer (the dynamic range's low then high end), radius inner.
/// Values are float32 as flyvis's torch tensors hold them.
package struct Flashes: CacheableStimulusSet {
    package let name = "flashes"
    package let radius: [Int]
    package let dynamicRange: [Double]
    package let tStim: Double
    package let tPre: Double
    package let alternations: [Int]
    package let dt: Double
    package let lattice: HexLattice
    package let layout: FrameLayout

    /// - Parameters:
    ///   - radius: disk radii in hexals (hex distance from the centre); −1 is the whole eye.
    ///   - dynamicRange: the flash intensities [low, high]; grey is their mean.
    ///   - alternations: 0 for grey, 1 for the flash; must start with 0.
    ///   - extent: the lattice; hexals keep flyvis's coordinates at every extent.
    package init(
        radius: [Int] = [-1, 6], dynamicRange: [Double] = [0, 1], tStim: Double = 1, tPre: Double = 1,
        alternations: [Int] = [0, 1, 0], dt: Double = 1.0 / 200, extent: Int = 15
    ) throws(StimulusError) {
        let check = ParameterCheck(set: "flashes")
        try check.nonEmpty(radius, "radius")
        if let bad = radius.first(where: { $0 < -1 }) {
            throw .invalidParameter(
                set: "flashes", name: "radius", problem: "contains \(bad); use −1 (whole eye) or a radius ≥ 0 in hexals")
        }
        try check.finite(dynamicRange, "dynamic_range")
        guard dynamicRange.count == 2 else {
            throw .invalidParameter(set: "flashes", name: "dynamic_range", problem: "has \(dynamicRange.count) values; give [low, high]")
        }
        try check.positive([dt], "dt")
        try check.nonNegative(tStim, "t_stim")
        try check.nonNegative(tPre, "t_pre")
        guard alternations.first == 0, alternations.allSatisfy({ $0 == 0 || $0 == 1 }) else {
            throw .invalidParameter(
                set: "flashes", name: "alternations", problem: "is \(alternations); use 0 (grey) and 1 (flash), starting with 0")
        }
        try check.extent(extent)
        self.radius = radius
        self.dynamicRange = dynamicRange
        self.tStim = tStim
        self.tPre = tPre
        self.alternations = alternations
        self.dt = dt
        lattice = HexLattice(extent: extent)

        // resample(frame, t, dt) repeats one frame int(t / dt) times: frame 0 grey, 1 the flash.
        let grey = try check.frames(pythonInt(tPre / dt)), lit = try check.frames(pythonInt(tStim / dt))
        var schedule: [Int32] = []
        for a in alternations {
            schedule += [Int32](repeating: Int32(a), count: a == 0 ? grey : lit)
        }
        _ = try check.frames(schedule.count)
        let samples = dynamicRange.count * radius.count
        layout = FrameLayout(
            groups: samples, framesPerGroup: 2, hexals: lattice.count,
            sampleGroup: Array(0..<samples), sampleSchedule: [Int](repeating: 0, count: samples),
            schedules: [schedule], background: Float((dynamicRange[0] + dynamicRange[1]) / 2))
    }

    /// Grey: the dynamic range's mean.
    var baseline: Double { (dynamicRange[0] + dynamicRange[1]) / 2 }

    package var time: [Double] { analysisTime(tPre: tPre) }

    package var sampleParameters: [(name: String, values: [Double])] {
        [
            ("radius", dynamicRange.flatMap { _ in radius.map(Double.init) }),
            ("intensity", dynamicRange.flatMap { i in radius.map { _ in i } }),
        ]
    }

    package var configuration: [(name: String, value: StimulusParameterValue)] {
        [
            ("dynamic_range", .numbers(dynamicRange)), ("t_stim", .number(tStim)), ("t_pre", .number(tPre)),
            ("dt", .number(dt)), ("radius", .numbers(radius.map(Double.init))),
            ("alternations", .numbers(alternations.map(Double.init))),
        ]
    }

    package var cacheKey: String {
        "flashes v1 extent=\(lattice.extent) radius=\(radius) dynamic_range=\(dynamicRange)"
    }

    package func renderGroups(_ groups: Range<Int>, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let n = lattice.count
        try layout.check(groups: groups, buffer: buffer.count, set: name)
        let grey = Float(baseline)
        for (k, sample) in groups.enumerated() {
            let intensity = Float(dynamicRange[sample / radius.count]), r = radius[sample % radius.count]
            let base = k * 2 * n
            for h in 0..<n {
                let u = lattice.u[h], v = lattice.v[h]
                let inDisk = r == -1 || (abs(u) + abs(v) + abs(u + v)) / 2 <= r
                buffer[base + h] = grey
                buffer[base + n + h] = inDisk ? intensity : grey
            }
        }
    }
}
