import FlyvisHex
import FlyvisRandom
import Foundation

/// One sample: luminance (T, 1, hexals) and targets per task (T, C, hexals).
package struct Sample: Sendable, Equatable {
    package var lum: [Float]
    package var targets: [String: [Float]]
    package var frames: Int
}
