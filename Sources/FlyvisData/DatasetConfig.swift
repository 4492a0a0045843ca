import FlyvisBase
import FlyvisHex
import FlyvisRandom
import Foundation

/// flyvis's MultiTaskSintel sampling settings (task.dataset in task.yaml).
package struct DatasetConfig: Sendable, Equatable {
    package var tasks = [TaskName.flow.rawValue]
    package var nFrames = 19
    package var dt = 0.02
    package var augment = true
    package var randomTemporalCrop = true
    package var allFrames = false
    package var resampling = true
    package var interpolate = true
    package var pFlip = 0.5
    package var pRot = 0.5
    package var flipAxes = [0, 1, 2, 3]
    package var contrastStd: Double? = 0.2
    package var brightnessStd: Double? = 0.1
    package var gaussianWhiteNoise: Double? = 0.08
    package var gammaStd: Double?
    /// Frame rate of the source movies (Sintel: 24 Hz).
    package var originalFramerate = 24.0

    package init() {}

    package func validate() throws(DataError) {
        guard dt > 0, dt.isFinite else { throw .invalidConfig(key: "dt", problem: "must be positive (got \(dt))") }
        guard nFrames >= 1 else { throw .invalidConfig(key: "n_frames", problem: "must be at least 1 (got \(nFrames))") }
        for (k, p) in [("p_flip", pFlip), ("p_rot", pRot)] where !(0...1).contains(p) {
            throw .invalidConfig(key: k, problem: "must be a probability in [0, 1] (got \(p))")
        }
        guard flipAxes.allSatisfy({ (0...3).contains($0) }) else {
            throw .invalidConfig(key: "flip_axes", problem: "axes must be among 0, 1, 2, 3 (got \(flipAxes))")
        }
        for t in tasks where TaskName(rawValue: t) == nil {
            throw .invalidConfig(key: "tasks", problem: "unknown task '\(t)'; use flow, lum or depth")
        }
    }
}
