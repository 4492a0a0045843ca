/// How a set's movies are assembled from a few rendered frames per group: the bar at each of
/// its offsets, or a flash's grey and lit frames. These frames are what flyvis renders once and
/// caches (`RenderedOffsets`); every sample's movie is a schedule over its group's frames —
/// resampled to dt, padded with grey before, continued after, NaN to the slowest speed's
/// length — and is assembled when it is read, so a set never has to be in memory whole.
package struct FrameLayout: Sendable, Equatable {
    /// Groups of rendered frames (flyvis's angle × width × intensity, or one per flash).
    package let groups: Int
    /// Rendered frames per group (the offsets, or a flash's two frames).
    package let framesPerGroup: Int
    package let hexals: Int
    /// Frames of every assembled sample.
    package let frameCount: Int
    /// Each sample's group and schedule (an index into `schedules`).
    let sampleGroup: [Int]
    let sampleSchedule: [Int]
    /// Per frame: a rendered frame of the group, `FrameSource.background` or `.missing`.
    let schedules: [[Int32]]
    /// The background's value (flyvis's `bg_intensity`).
    let background: Float

    init(
        groups: Int, framesPerGroup: Int, hexals: Int, sampleGroup: [Int], sampleSchedule: [Int],
        schedules: [[Int32]], background: Float
    ) {
        self.groups = groups
        self.framesPerGroup = framesPerGroup
        self.hexals = hexals
        self.sampleGroup = sampleGroup
        self.sampleSchedule = sampleSchedule
        self.schedules = schedules
        self.background = background
        frameCount = schedules.map(\.count).max() ?? 0
    }

    var sampleCount: Int { sampleGroup.count }

    /// Values per group of rendered frames.
    var groupSize: Int { framesPerGroup * hexals }

    /// Checks a render request before any work.
    func check(sample: Int, buffer: Int, set: String) throws(StimulusError) {
        guard sample >= 0, sample < sampleCount else {
            throw .sampleOutOfRange(set: set, sample: sample, count: sampleCount)
        }
        guard buffer >= frameCount * hexals else {
            throw .bufferTooSmall(set: set, needed: frameCount * hexals, given: buffer)
        }
    }

    /// Checks a request for rendered groups.
    func check(groups: Range<Int>, buffer: Int, set: String) throws(StimulusError) {
        guard groups.lowerBound >= 0, groups.upperBound <= self.groups else {
            throw .invalidParameter(set: set, name: "groups", problem: "\(groups) lie outside 0..<\(self.groups)")
        }
        guard buffer >= groups.count * groupSize else {
            throw .bufferTooSmall(set: set, needed: groups.count * groupSize, given: buffer)
        }
    }

    /// Writes `sample`'s movie from its group's rendered frames (framesPerGroup × hexals).
    /// Frames past the schedule's end (none for flyvis's sets) are NaN, like its padding.
    func assemble(sample: Int, frames: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        let schedule = schedules[sampleSchedule[sample]]
        let n = hexals
        guard let source = frames.baseAddress, let target = out.baseAddress else { return }
        for f in 0..<frameCount {
            let row = target + f * n
            let entry = f < schedule.count ? schedule[f] : FrameSource.missing
            if entry >= 0 {
                row.update(from: source + Int(entry) * n, count: n)
            } else {
                row.update(repeating: entry == FrameSource.background ? background : .nan, count: n)
            }
        }
    }
}
