/// What a frame of a schedule shows.
enum FrameSource {
    /// The grey background (flyvis's `bg_intensity`, 0.5).
    static let background: Int32 = -1
    /// NaN, where a faster speed is padded to the slowest one's length.
    static let missing: Int32 = -2
}
