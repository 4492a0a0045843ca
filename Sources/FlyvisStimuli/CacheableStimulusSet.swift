/// A stimulus set whose movies are assembled from a few rendered frames per group
/// (`FrameLayout`): what flyvis renders once and caches. `StimulusCache` stores just those
/// frames and assembles each sample when it is read.
package protocol CacheableStimulusSet: StimulusSet {
    /// Everything the rendered frames depend on (not dt, speeds or durations, which only
    /// change how they are assembled); equal keys mean equal frames.
    var cacheKey: String { get }
    var layout: FrameLayout { get }
    /// Renders consecutive groups' frames into `buffer` (groups.count × framesPerGroup × hexals).
    func renderGroups(_ groups: Range<Int>, into buffer: UnsafeMutableBufferPointer<Float>) throws
}

extension CacheableStimulusSet {
    package var sampleCount: Int { layout.sampleCount }
    package var frameCount: Int { layout.frameCount }

    /// Renders the sample's group and assembles its movie (one group's frames of scratch).
    package func render(sample: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        try layout.check(sample: sample, buffer: buffer.count, set: name)
        let group = layout.sampleGroup[sample]
        var frames = [Float](repeating: 0, count: layout.groupSize)
        try frames.withUnsafeMutableBufferPointer { try renderGroups(group..<group + 1, into: $0) }
        frames.withUnsafeBufferPointer { layout.assemble(sample: sample, frames: $0, into: buffer) }
    }

    /// Seconds per frame: frame index × dt − t_pre, as flyvis's analysis writes `time`.
    func analysisTime(tPre: Double) -> [Double] {
        (0..<layout.frameCount).map { Double($0) * dt - tPre }
    }
}
