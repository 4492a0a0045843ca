import FlyvisHex
import FlyvisRandom
import Foundation

/// A generated scene: frames (luminance in [0,1], quantised to 8 bits like a PNG) and the flow
/// from each frame to the next, in pixels, x right and y down (Sintel's .flo convention).
package struct SyntheticScene: Sendable {
    package var frames: [[Float]]
    package var flowU: [[Float]]
    package var flowV: [[Float]]
    package let height: Int, width: Int
}
