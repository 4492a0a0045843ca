import FlyvisRandom
import Foundation

/// A stacked batch: lum (B, T, 1, hexals) and targets (B, T, C, hexals).
package struct Batch: Sendable {
    package var lum: [Float]
    package var targets: [String: [Float]]
    package var batchSize: Int
    package var frames: Int
}
