import FlyvisHex
import FlyvisRandom
import Foundation

/// 1/f texture: octaves of bilinearly interpolated white noise, amplitude halving with
/// frequency doubling, rescaled to a random mean and contrast.
func pinkNoiseTexture(size n: Int, rng: inout RandomState) -> [Float] {
    var tex = [Float](repeating: 0, count: n * n)
    var spacing = n / 4
    var amplitude: Float = 1
    // Down to 8-texel features: finer detail would alias under motion and is averaged away
    // by the 13-pixel photoreceptor box filter anyway.
    while spacing >= 8 {
        let g = n / spacing
        let grid = (0..<(g * g)).map { _ in Float(rng.uniform() * 2 - 1) }
        for y in 0..<n {
            let gy = Float(y) / Float(spacing)
            let y0 = Int(gy) % g, y1 = (y0 + 1) % g, ay = gy - Float(Int(gy))
            for x in 0..<n {
                let gx = Float(x) / Float(spacing)
                let x0 = Int(gx) % g, x1 = (x0 + 1) % g, ax = gx - Float(Int(gx))
                let v =
                    (grid[y0 * g + x0] * (1 - ax) + grid[y0 * g + x1] * ax) * (1 - ay)
                    + (grid[y1 * g + x0] * (1 - ax) + grid[y1 * g + x1] * ax) * ay
                tex[y * n + x] += amplitude * v
            }
        }
        spacing /= 2
        amplitude /= 2
    }
    let lo = tex.min()!, hi = tex.max()!
    let mean = Float(0.3 + 0.4 * rng.uniform()), contrast = Float(0.5 + 0.5 * rng.uniform())
    return tex.map { mean + contrast * (($0 - lo) / max(hi - lo, 1e-6) - 0.5) }.map { min(max($0, 0), 1) }
}

package enum BuiltinFlow {
    /// Generates scene `index` deterministically from the config's seed.
    package static func scene(_ index: Int, config: BuiltinFlowConfig) -> SyntheticScene {
        var rng = RandomState(seed: config.seed &+ UInt64(index) &* 0x9E37_79B9)
        let (H, W) = (config.height, config.width)
        let texSize = 512
        func layer(background: Bool) -> MovingLayer {
            let tex = pinkNoiseTexture(size: texSize, rng: &rng)
            let speed = background ? 8.0 : 16.0
            return MovingLayer(
                texture: tex, textureSize: texSize,
                center: background
                    ? (Double(W) / 2, Double(H) / 2)
                    : (Double(W) * (0.2 + 0.6 * rng.uniform()), Double(H) * (0.2 + 0.6 * rng.uniform())),
                velocity: (speed * (rng.uniform() * 2 - 1), speed * (rng.uniform() * 2 - 1)),
                theta0: rng.uniform() * 2 * .pi, omega: (rng.uniform() * 2 - 1) * (background ? 0.004 : 0.03),
                scale0: background ? 2.5 : 1 + rng.uniform(), expansion: (rng.uniform() * 2 - 1) * (background ? 0.004 : 0.015),
                radii: background ? nil : (40 + 60 * rng.uniform(), 30 + 50 * rng.uniform()))
        }
        let layers = [layer(background: true), layer(background: false), layer(background: false)]
        var frames: [[Float]] = [], us: [[Float]] = [], vs: [[Float]] = []
        for k in 0..<config.framesPerScene {
            let m = layers.map { $0.transform(Double(k)) }
            let next = layers.map { $0.transform(Double(k + 1)) }
            var frame = [Float](repeating: 0, count: H * W)
            var u = [Float](repeating: 0, count: H * W), v = [Float](repeating: 0, count: H * W)
            let wantFlow = k + 1 < config.framesPerScene
            for y in 0..<H {
                for x in 0..<W {
                    // Pixel centres; the top-most covering layer wins (occlusion).
                    let px = Double(x) + 0.5, py = Double(y) + 0.5
                    for l in stride(from: layers.count - 1, through: 0, by: -1) {
                        let p = layers[l].inverse(px, py, m[l])
                        guard layers[l].covers(p) else { continue }
                        let value = layers[l].sample(p)
                        frame[y * W + x] = (value * 255).rounded() / 255
                        if wantFlow {
                            let q = layers[l].forward(p, next[l])
                            u[y * W + x] = Float(q.0 - px)
                            v[y * W + x] = Float(q.1 - py)
                        }
                        break
                    }
                }
            }
            frames.append(frame)
            if wantFlow { us.append(u); vs.append(v) }
        }
        return SyntheticScene(frames: frames, flowU: us, flowV: vs, height: H, width: W)
    }

    /// Renders all scenes to hex sequences with the Sintel pipeline (lum uses frames 2…N and
    /// flow the motion into each of them, as flyvis pairs Sintel frames).
    /// Scenes not yet started are skipped once `stop` says so (the caller then discards the
    /// partial result).
    package static func render(
        config: BuiltinFlowConfig, render: RenderConfig,
        progress: (String) -> Void = { _ in },
        stop: @escaping () -> Bool = { false }
    ) -> [RenderedSequence] {
        let eye = BoxEye(extent: render.extent, kernelSize: render.kernelSize)
        /// The check reads an atomic flag (the signal handler's); the workers only call it.
        final class Stop: @unchecked Sendable {
            let requested: () -> Bool
            init(_ requested: @escaping () -> Bool) { self.requested = requested }
        }
        let stopCheck = Stop(stop)
        final class Results: @unchecked Sendable {
            var value: [[RenderedSequence]]
            let lock = NSLock()
            init(_ n: Int) { value = [[RenderedSequence]](repeating: [], count: n) }
        }
        let results = Results(config.scenes)
        DispatchQueue.concurrentPerform(iterations: config.scenes) { i in
            if stopCheck.requested() { return }
            let s = scene(i, config: config)
            let splits = max(render.verticalSplits, 1)
            var lum = [[Float]](repeating: [], count: splits), flow = [[Float]](repeating: [], count: splits)
            for k in 0..<(s.frames.count - 1) {
                let l = renderFrame(s.frames[k + 1], height: s.height, width: s.width, eye: eye, config: render, filter: .mean)
                let h = Float(s.height)
                let fx = renderFrame(s.flowU[k].map { $0 / h }, height: s.height, width: s.width, eye: eye, config: render, filter: .sum)
                let fy = renderFrame(s.flowV[k].map { -$0 / h }, height: s.height, width: s.width, eye: eye, config: render, filter: .sum)
                for j in 0..<splits { lum[j] += l[j]; flow[j] += fx[j] + fy[j] }
            }
            let seqs = (0..<splits).map { j in
                RenderedSequence(
                    name: String(format: "sequence_%02d_%@_split_%02d", i, config.sceneName(i), j),
                    frames: s.frames.count - 1, lum: lum[j], flow: flow[j], depth: nil)
            }
            results.lock.withLock { results.value[i] = seqs }
        }
        progress("rendered \(config.scenes) synthetic scenes")
        return results.value.flatMap { $0 }.sorted { $0.name < $1.name }
    }
}
