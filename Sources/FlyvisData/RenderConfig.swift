import FlyvisHDF5
import FlyvisHex
import Foundation

/// How raw frames become hex sequences (flyvis's RenderedSintel arguments).
package struct RenderConfig: Sendable, Equatable {
    package var extent = 15
    package var kernelSize = 13
    package var verticalSplits = 3
    package var nFrames = 19
    package var centerCropFraction: Double? = 0.7
    package var depth = false

    package init() {}

    /// Text identifying the rendering, for the cache key.
    package var key: String {
        "extent=\(extent) kernel_size=\(kernelSize) vertical_splits=\(verticalSplits) n_frames=\(nFrames) "
            + "center_crop_fraction=\(centerCropFraction.map { "\($0)" } ?? "none") depth=\(depth)"
    }
}
