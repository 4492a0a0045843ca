import FlyvisHDF5
import FlyvisHex
import Foundation

/// One rendered sequence: hex movies for one scene and one vertical split.
package struct RenderedSequence: Sendable, Equatable {
    /// flyvis's key, `sequence_{i:02d}_{scene}_split_{j:02d}`.
    package var name: String
    package var frames: Int
    /// (frames, 1, hexals)
    package var lum: [Float]
    /// (frames, 2, hexals), x right and y up, in image heights per source frame.
    package var flow: [Float]?
    /// (frames, 1, hexals)
    package var depth: [Float]?
}
