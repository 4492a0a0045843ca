import FlyvisBase
import FlyvisHex
import FlyvisNetwork
import FlyvisRandom
import Foundation

/// Hex-masked 2-D convolution (PyTorch cross-correlation, zero padding k/2), computed by the
/// direct kernels in DirectConv.swift. Only the taps inside the hexagonal kernel are stored; the masked taps stay zero
/// permanently (their gradient is masked), which gives the same forward as flyvis's in-place
/// re-masking.
final class HexConv {
    let inChannels: Int, outChannels: Int, kernel: Int
    let taps: [(dy: Int, dx: Int)]  // in torch's (ky, kx) row-major order, offsets from centre
    var weight: [Float]  // (out, in · taps)
    var bias: [Float]
    var gradWeight: [Float]
    var gradBias: [Float]
    /// The weight gradient's per-image sums, kept between calls (DirectConv.backwardWeights).
    var weightScratch: [Double] = []

    init(inChannels: Int, outChannels: Int, kernel: Int, constWeight: Float?, rng: inout RandomState) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        let r = kernel / 2
        var taps: [(Int, Int)] = []
        for ky in 0..<kernel {
            for kx in 0..<kernel {
                let u = ky - r, v = kx - r
                if kernel == 1 || (abs(u) <= r && abs(v) <= r && abs(u + v) <= r) { taps.append((u, v)) }
            }
        }
        self.taps = taps
        let k = inChannels * taps.count
        if let c = constWeight {
            weight = [Float](repeating: c, count: outChannels * k)
            bias = [Float](repeating: c, count: outChannels)
        } else {
            // PyTorch's default (kaiming-uniform bound 1/sqrt(fan_in)), from our seeded generator.
            let bound = 1 / Float(inChannels * kernel * kernel).squareRoot()
            weight = (0..<(outChannels * k)).map { _ in (rng.uniformFloat() * 2 - 1) * bound }
            bias = (0..<outChannels).map { _ in (rng.uniformFloat() * 2 - 1) * bound }
        }
        gradWeight = [Float](repeating: 0, count: weight.count)
        gradBias = [Float](repeating: 0, count: outChannels)
    }

    var columns: Int { inChannels * taps.count }

    /// The weight as torch stores it: (out, in, k, k) with zeros at masked taps.
    func torchWeight(_ compact: [Float]) -> [Float] {
        var full = [Float](repeating: 0, count: outChannels * inChannels * kernel * kernel)
        let r = kernel / 2
        for o in 0..<outChannels {
            for i in 0..<inChannels {
                for (t, tap) in taps.enumerated() {
                    full[((o * inChannels + i) * kernel + tap.dy + r) * kernel + tap.dx + r] = compact[o * columns + i * taps.count + t]
                }
            }
        }
        return full
    }

    func setTorchWeight(_ full: [Float]) {
        let r = kernel / 2
        for o in 0..<outChannels {
            for i in 0..<inChannels {
                for (t, tap) in taps.enumerated() {
                    weight[o * columns + i * taps.count + t] = full[((o * inChannels + i) * kernel + tap.dy + r) * kernel + tap.dx + r]
                }
            }
        }
    }
}
