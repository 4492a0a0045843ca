import FlyvisHex
import FlyvisRandom
import Foundation

/// The augmentation drawn for one sample.
package struct AugmentationParameters: Sendable, Equatable {
    package var nRot = 0
    package var flipAxis = 0
    /// nil: contrast/brightness jitter off (also when only brightness is configured, as flyvis).
    package var contrastFactor: Float?
    package var brightnessFactor: Float = 0
    package var noiseStd: Float = 0
    /// lum ← lum^gamma. flyvis samples gamma but never applies it; we apply it (it only
    /// matters when gamma_std is set, which the default config does not do).
    package var gamma: Float = 1
    package var start = 0

    package init(
        nRot: Int = 0, flipAxis: Int = 0, contrastFactor: Float? = nil, brightnessFactor: Float = 0,
        noiseStd: Float = 0, start: Int = 0
    ) {
        self.nRot = nRot
        self.flipAxis = flipAxis
        self.contrastFactor = contrastFactor
        self.brightnessFactor = brightnessFactor
        self.noiseStd = noiseStd
        self.start = start
    }
}
