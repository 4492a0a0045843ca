import FlyvisBase
import FlyvisHex
import FlyvisRandom
import Foundation

/// A data set of rendered hex sequences with flyvis's sampling: temporal crop, noise,
/// contrast/brightness jitter, flip, rotation, and resampling to the integration step.
package struct MultiTaskDataset: Sendable {
    package let sequences: [RenderedSequence]
    package var config: DatasetConfig
    package let lattice: HexLattice
    let rotations: [HexTransform]
    let flips: [HexTransform]

    package init(sequences: [RenderedSequence], config: DatasetConfig, extent: Int) throws(DataError) {
        try config.validate()
        guard !sequences.isEmpty else { throw .emptyDataset("no sequences were rendered") }
        for t in config.tasks where t == TaskName.depth.rawValue && sequences.contains(where: { $0.depth == nil }) {
            throw .invalidConfig(key: "tasks", problem: "the depth task needs depth maps; render with depth")
        }
        if !config.allFrames, let short = sequences.first(where: { $0.frames < config.nFrames }) {
            throw .tooFewFrames(needed: config.nFrames, available: short.frames)
        }
        self.sequences = sequences
        self.config = config
        lattice = HexLattice(extent: extent)
        rotations = (0..<6).map { HexTransform.rotation($0, lattice: HexLattice(extent: extent)) }
        flips = (0...3).map { HexTransform.flip(axis: $0, lattice: HexLattice(extent: extent)) }
    }

    package var count: Int { sequences.count }
    package var names: [String] { sequences.map(\.name) }
    package var hexals: Int { lattice.count }

    /// Target tasks (flow, depth); lum is always the input.
    package var targetTasks: [String] { config.tasks.filter { $0 != TaskName.lum.rawValue } }

    /// Frames after resampling a window of `n` source frames to 1/dt.
    package func outputFrames(_ n: Int) -> Int {
        Int(((1 / config.dt) / config.originalFramerate * Double(n)).rounded(.up))
    }

    /// Draws augmentation parameters in flyvis's order (rotation, flip, contrast, brightness,
    /// gamma, crop start); with augmentation off nothing is drawn and the crop starts at 0.
    package func drawParameters<R: RandomSource>(frames T: Int, augment: Bool, rng: inout R) -> AugmentationParameters {
        var p = AugmentationParameters()
        guard augment else { return p }
        if config.pRot > 0 { p.nRot = config.pRot > rng.uniform() ? rng.int(1, 6) : 0 }
        if config.pFlip > 0, let top = config.flipAxes.max() {
            p.flipAxis = config.pFlip > rng.uniform() && top > 0 ? rng.int(1, top + 1) : 0
        }
        if let c = config.contrastStd, c != 0 { p.contrastFactor = Float(Foundation.exp(rng.normal() * c)) }
        if let b = config.brightnessStd, b != 0 { p.brightnessFactor = Float(rng.normal() * b) }
        if let g = config.gammaStd, g != 0 { p.gamma = Float(max(0, 1 + rng.normal() * g)) }
        p.noiseStd = Float(config.gaussianWhiteNoise ?? 0)
        if config.randomTemporalCrop && !config.allFrames {
            p.start = rng.int(0, max(T - config.nFrames, 1))
        }
        return p
    }

    /// The sample at `index` with augmentation on or off (flyvis `get_item`).
    package func sample<R: RandomSource>(_ index: Int, augment: Bool, rng: inout R) -> Sample {
        let s = sequences[index]
        let p = drawParameters(frames: s.frames, augment: augment, rng: &rng)
        return sample(index, parameters: p, augment: augment, rng: &rng)
    }

    /// The sample at `index` with given augmentation parameters.
    package func sample<R: RandomSource>(
        _ index: Int, parameters p: AugmentationParameters, augment: Bool = true,
        rng: inout R
    ) -> Sample {
        let s = sequences[index]
        let H = hexals
        let n = config.allFrames ? s.frames : config.nFrames
        let start = config.allFrames ? 0 : min(p.start, s.frames - n)
        var lum = Array(s.lum[(start * H)..<((start + n) * H)])
        if augment {
            if p.noiseStd > 0 {
                for i in lum.indices { lum[i] = max(0, lum[i] + p.noiseStd * Float(rng.normal())) }
            }
            if let c = p.contrastFactor {
                let b = p.brightnessFactor
                for i in lum.indices { lum[i] = max(0, c * (lum[i] - 0.5) + 0.5 + c * b) }
            }
            if p.gamma != 1 {
                for i in lum.indices { lum[i] = Foundation.pow(max(lum[i], 0), p.gamma) }
            }
            if p.flipAxis != 0 { flips[p.flipAxis].apply(&lum, frames: n, channels: 1) }
            if p.nRot != 0 { rotations[p.nRot].apply(&lum, frames: n, channels: 1) }
        }
        if config.resampling { lum = resampleNearest(lum, frames: n, channels: 1, to: outputFrames(n)) }
        var targets: [String: [Float]] = [:]
        for task in targetTasks {
            let kind = TaskName(rawValue: task)!
            let (data, channels) = (kind == .flow ? s.flow! : s.depth!, kind.targetChannels!)
            var x = Array(data[(start * channels * H)..<((start + n) * channels * H)])
            if augment {
                if p.flipAxis != 0 { flips[p.flipAxis].apply(&x, frames: n, channels: channels) }
                if p.nRot != 0 { rotations[p.nRot].apply(&x, frames: n, channels: channels) }
            }
            if config.interpolate {
                x = resampleLinear(x, frames: n, channels: channels, to: outputFrames(n))
            } else if config.resampling {
                x = resampleNearest(x, frames: n, channels: channels, to: outputFrames(n))
            }
            targets[task] = x
        }
        return Sample(lum: lum, targets: targets, frames: config.resampling ? outputFrames(n) : n)
    }

    /// PyTorch's nearest-exact resampling along time, in its float32 arithmetic.
    func resampleNearest(_ x: [Float], frames tIn: Int, channels: Int, to tOut: Int) -> [Float] {
        let block = channels * hexals
        let s = Float(tIn) / Float(tOut)
        var out = [Float](repeating: 0, count: tOut * block)
        for i in 0..<tOut {
            let src = min(Int((Float(Float(i) + 0.5) * s).rounded(.down)), tIn - 1)
            for k in 0..<block { out[i * block + k] = x[src * block + k] }
        }
        return out
    }

    /// PyTorch's linear interpolation with align_corners = True along time.
    func resampleLinear(_ x: [Float], frames tIn: Int, channels: Int, to tOut: Int) -> [Float] {
        let block = channels * hexals
        let s: Float = tOut > 1 ? Float(tIn - 1) / Float(tOut - 1) : 0
        var out = [Float](repeating: 0, count: tOut * block)
        for i in 0..<tOut {
            let r = s * Float(i)
            let i0 = Int(r.rounded(.down))
            let i1 = i0 + (i0 < tIn - 1 ? 1 : 0)
            let l = r - Float(i0)
            for k in 0..<block { out[i * block + k] = (1 - l) * x[i0 * block + k] + l * x[i1 * block + k] }
        }
        return out
    }
}
