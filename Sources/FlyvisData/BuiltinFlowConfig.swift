import FlyvisHex
import FlyvisRandom
import Foundation

/// The built-in optic-flow data set, used when no Sintel path is given.
///
/// It is **synthetic**: procedurally generated movies, not Sintel. Each scene stacks textured
/// layers with 1/f ("pink") spatial statistics — a full-frame background and two occluding
/// elliptical objects — that translate, rotate and expand at constant rates. Because every
/// layer moves by a known affine map, the ground-truth flow is exact at every pixel, including
/// occlusion boundaries (the top-most layer at a pixel owns its flow). Frames are rendered at
/// Sintel's size (436 × 1024, 8-bit luminance, flow in pixels per frame, y down) and then go
/// through exactly the same BoxEye pipeline as Sintel (lum as box mean, flow as box sum).
package struct BuiltinFlowConfig: Sendable, Equatable {
    package var scenes = 24
    /// PNG-equivalent frames per scene (flow files = frames − 1).
    package var framesPerScene = 21
    package var height = 436
    package var width = 1024
    package var seed: UInt64 = 2024
    /// Every `validationEvery`-th scene is a validation scene.
    package var validationEvery = 4

    package init() {}

    package var key: String {
        "builtin-flow v1 scenes=\(scenes) frames=\(framesPerScene) size=\(height)x\(width) seed=\(seed) val_every=\(validationEvery)"
    }

    /// Scene names: the original split of the built-in set is encoded in them
    /// (`synth_train_NN`, `synth_val_NN`), so flyvis's `original_split` works on it.
    package func sceneName(_ i: Int) -> String {
        String(format: "synth_%@_%02d", i % validationEvery == validationEvery - 1 ? "val" : "train", i)
    }
}
