import Foundation

/// Direct hex-masked convolution kernels on zero-padded image planes, eight lanes of x at a
/// time and eight channels in registers. They replace im2col + GEMM for the decoder: the
/// layers have few output channels (8 and 3), where im2col's memory traffic, not arithmetic,
/// dominated. Channel-major activations: value (c, n, y, x) at c·N·P + n·P + y·W + x.
struct DirectConv {
    let inChannels: Int, outChannels: Int
    let taps: [(dy: Int, dx: Int)]
    let side: Int          // W = H of the square map (31)
    let pad: Int           // kernel / 2
    /// Row stride of the padded planes: wide enough that the lanes of the last 8-wide chunk
    /// that fall past the map's right edge read zero padding, never the next row.
    var stride: Int { chunks * 8 + 2 * pad }
    var plane: Int { stride * stride }
    var chunks: Int { (side + 7) / 8 }

    typealias V = SIMD8<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }

    /// Copies one image's channels into zero-bordered planes (borders are never written, so
    /// they stay zero from allocation).
    func fillPadded(_ src: UnsafePointer<Float>, channels: Int, channelStride: Int, into dst: UnsafeMutablePointer<Float>) {
        for c in 0..<channels {
            let s = src + c * channelStride, d = dst + c * plane + pad * stride + pad
            for y in 0..<side { (d + y * stride).update(from: s + y * side, count: side) }
        }
    }

    /// Scratch for one image: padded input and padded gradient planes, with slack for the
    /// vector reads that run past a row end.
    func scratch(_ channels: Int) -> UnsafeMutablePointer<Float> {
        let n = channels * plane + 64
        let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
        p.initialize(repeating: 0, count: n)
        return p
    }

    /// out(o) = bias(o) + Σ_{i,tap} W(o, i, tap) · in(i, shifted by tap).
    /// `weights` is (out, in · taps) as HexConv stores it.
    func forward(_ x: UnsafePointer<Float>, images N: Int, weights: [Float], bias: [Float], out: UnsafeMutablePointer<Float>) {
        let P = side * side, T = taps.count, S = stride
        let padIn = scratch(inChannels)
        defer { padIn.deallocate() }
        let blocks = (outChannels + 7) / 8
        // Weights per output block as (i, t) → 8 output channels.
        var wT = [Float](repeating: 0, count: blocks * inChannels * T * 8)
        for o in 0..<outChannels { for i in 0..<inChannels { for t in 0..<T {
            wT[((o / 8 * inChannels + i) * T + t) * 8 + o % 8] = weights[o * inChannels * T + i * T + t]
        } } }
        let offsets = taps.map { $0.dy * S + $0.dx }
        wT.withUnsafeBufferPointer { wb in
            for n in 0..<N {
                fillPadded(x + n * P, channels: inChannels, channelStride: N * P, into: padIn)
                for b in 0..<blocks {
                    let w0 = wb.baseAddress! + b * inChannels * T * 8
                    let oCount = min(8, outChannels - b * 8)
                    var bias8 = [Float](repeating: 0, count: 8)
                    for k in 0..<oCount { bias8[k] = bias[b * 8 + k] }
                    for y in 0..<side {
                        for xc in 0..<chunks {
                            let x0 = xc * 8
                            var a0 = V(repeating: bias8[0]), a1 = V(repeating: bias8[1]), a2 = V(repeating: bias8[2]), a3 = V(repeating: bias8[3])
                            var a4 = V(repeating: bias8[4]), a5 = V(repeating: bias8[5]), a6 = V(repeating: bias8[6]), a7 = V(repeating: bias8[7])
                            for i in 0..<inChannels {
                                let row = padIn + i * plane + (y + pad) * S + x0 + pad
                                let wi = w0 + i * T * 8
                                for t in 0..<T {
                                    let v = Self.load(row + offsets[t])
                                    let w = wi + t * 8
                                    a0 += v * w[0]; a1 += v * w[1]; a2 += v * w[2]; a3 += v * w[3]
                                    a4 += v * w[4]; a5 += v * w[5]; a6 += v * w[6]; a7 += v * w[7]
                                }
                            }
                            let lanes = min(8, side - x0)
                            let base = out + b * 8 * N * P + n * P + y * side + x0
                            @inline(__always) func store(_ k: Int, _ a: V) {
                                guard k < oCount else { return }
                                let dst = base + k * N * P
                                for l in 0..<lanes { dst[l] = a[l] }
                            }
                            store(0, a0); store(1, a1); store(2, a2); store(3, a3)
                            store(4, a4); store(5, a5); store(6, a6); store(7, a7)
                        }
                    }
                }
            }
        }
    }

    /// Input gradient: dIn(i) = Σ_{o,tap} W(o, i, tap) · dOut(o, shifted back by tap).
    func backwardInput(_ g: UnsafePointer<Float>, images N: Int, weights: [Float], into dIn: UnsafeMutablePointer<Float>) {
        let P = side * side, T = taps.count, S = stride
        let padG = scratch(outChannels)
        defer { padG.deallocate() }
        let blocks = (inChannels + 7) / 8
        var wX = [Float](repeating: 0, count: blocks * outChannels * T * 8)
        for o in 0..<outChannels { for i in 0..<inChannels { for t in 0..<T {
            wX[((i / 8 * outChannels + o) * T + t) * 8 + i % 8] = weights[o * inChannels * T + i * T + t]
        } } }
        let offsets = taps.map { -$0.dy * S - $0.dx }
        wX.withUnsafeBufferPointer { wb in
            for n in 0..<N {
                fillPadded(g + n * P, channels: outChannels, channelStride: N * P, into: padG)
                for b in 0..<blocks {
                    let w0 = wb.baseAddress! + b * outChannels * T * 8
                    let iCount = min(8, inChannels - b * 8)
                    for y in 0..<side {
                        for xc in 0..<chunks {
                            let x0 = xc * 8
                            var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V(), a5 = V(), a6 = V(), a7 = V()
                            for o in 0..<outChannels {
                                let row = padG + o * plane + (y + pad) * S + x0 + pad
                                let wo = w0 + o * T * 8
                                for t in 0..<T {
                                    let v = Self.load(row + offsets[t])
                                    let w = wo + t * 8
                                    a0 += v * w[0]; a1 += v * w[1]; a2 += v * w[2]; a3 += v * w[3]
                                    a4 += v * w[4]; a5 += v * w[5]; a6 += v * w[6]; a7 += v * w[7]
                                }
                            }
                            let lanes = min(8, side - x0)
                            let base = dIn + b * 8 * N * P + n * P + y * side + x0
                            @inline(__always) func add(_ k: Int, _ a: V) {
                                guard k < iCount else { return }
                                let dst = base + k * N * P
                                for l in 0..<lanes { dst[l] += a[l] }
                            }
                            add(0, a0); add(1, a1); add(2, a2); add(3, a3)
                            add(4, a4); add(5, a5); add(6, a6); add(7, a7)
                        }
                    }
                }
            }
        }
    }

    /// Weight gradient: dW(o, i, tap) = Σ_{n,y,x} dOut(o, n, y, x) · in(i, n, (y, x) + tap),
    /// in (out, in · taps) layout, accumulated in double per image.
    func backwardWeights(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, images N: Int) -> [Float] {
        let P = side * side, T = taps.count, S = stride
        let padIn = scratch(inChannels), padG = scratch(8)
        defer { padIn.deallocate(); padG.deallocate() }
        var total = [Double](repeating: 0, count: outChannels * inChannels * T)
        let offsets = taps.map { $0.dy * S + $0.dx }
        for n in 0..<N {
            fillPadded(x + n * P, channels: inChannels, channelStride: N * P, into: padIn)
            for b in 0..<((outChannels + 7) / 8) {
                let oCount = min(8, outChannels - b * 8)
                fillPadded(g + b * 8 * N * P + n * P, channels: oCount, channelStride: N * P, into: padG)
                for i in 0..<inChannels {
                    for t in 0..<T {
                        var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V(), a5 = V(), a6 = V(), a7 = V()
                        let inBase = padIn + i * plane + pad * S + pad + offsets[t]
                        for y in 0..<side {
                            for xc in 0..<chunks {
                                let q = y * S + xc * 8
                                let v = Self.load(inBase + q)
                                let gq = padG + pad * S + pad + q
                                a0 += v * Self.load(gq); a1 += v * Self.load(gq + plane)
                                a2 += v * Self.load(gq + 2 * plane); a3 += v * Self.load(gq + 3 * plane)
                                a4 += v * Self.load(gq + 4 * plane); a5 += v * Self.load(gq + 5 * plane)
                                a6 += v * Self.load(gq + 6 * plane); a7 += v * Self.load(gq + 7 * plane)
                            }
                        }
                        let sums = [a0.sum(), a1.sum(), a2.sum(), a3.sum(), a4.sum(), a5.sum(), a6.sum(), a7.sum()]
                        for k in 0..<oCount {
                            total[(b * 8 + k) * inChannels * T + i * T + t] += Double(sums[k])
                        }
                    }
                }
            }
        }
        return total.map { Float($0) }
    }
}
