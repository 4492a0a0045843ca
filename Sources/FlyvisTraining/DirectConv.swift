import Foundation
import FlyvisNetwork

/// Direct hex-masked convolution kernels on zero-padded image planes, eight pixels of a row at
/// a time and eight channels in registers, with fused multiply-adds. They replace im2col + GEMM
/// for the decoder: its layers have few output channels (8 and 3 by default), where im2col's
/// memory traffic, not arithmetic, dominated (measured 1.6× slower on the reference workload).
/// Channel-major activations: value (c, n, y, x) at c·N·P + n·P + y·W + x.
///
/// Images are split into `threads` fixed, contiguous ranges. Every output element is computed
/// by one thread in a fixed order, and the weight gradient is reduced over images in image
/// order, so results are bitwise the same for any thread count.
struct DirectConv {
    let inChannels: Int, outChannels: Int
    let taps: [(dy: Int, dx: Int)]
    let side: Int          // W = H of the square map (31)
    let pad: Int           // kernel / 2
    var threads = 1
    var chunks: Int { (side + 7) / 8 }
    /// Row stride of the padded planes: wide enough that the lanes of the last 8-wide chunk
    /// that fall past the map's right edge read zero padding, never the next row.
    /// Rounded up to a multiple of 8 so that, with `scratch`'s alignment, every 8-pixel chunk
    /// of the interior starts on a 32-byte boundary (no cache-line-split loads there).
    var stride: Int { (chunks * 8 + 2 * pad + 7) / 8 * 8 }
    var plane: Int { stride * (side + 2 * pad) }

    init(inChannels: Int, outChannels: Int, taps: [(dy: Int, dx: Int)], side: Int, pad: Int, threads: Int = 1) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.taps = taps
        self.side = side
        self.pad = pad
        self.threads = max(1, threads)
    }

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

    /// Scratch for one image: padded planes, with slack for vector reads past the last row,
    /// placed so that each plane's interior origin is 32-byte aligned. Free with `release`.
    func scratch(_ channels: Int) -> UnsafeMutablePointer<Float> {
        let lead = (8 - (pad * stride + pad) % 8) % 8
        let n = 8 + lead + channels * plane + 64
        let raw = UnsafeMutableRawPointer.allocate(byteCount: n * 4, alignment: 64)
        let p = raw.bindMemory(to: Float.self, capacity: n)
        p.initialize(repeating: 0, count: n)
        p[7 + lead] = Float(bitPattern: UInt32(8 + lead))   // just before the planes: their distance from the allocation
        return p + 8 + lead
    }

    func release(_ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p - Int((p - 1).pointee.bitPattern)).deallocate()
    }

    /// The images of part `k` of `threads` contiguous ranges.
    func images(_ N: Int, part k: Int) -> Range<Int> { (N * k / threads)..<(N * (k + 1) / threads) }

    /// Regroups (out, in · taps) weights into blocks of eight channels of `blockOf` (the
    /// register dimension): entry ((block · other + j) · T + t) · 8 + lane.
    func blocked(_ weights: [Float], blockOverOutput: Bool) -> [Float] {
        let T = taps.count
        let blockCh = blockOverOutput ? outChannels : inChannels
        let other = blockOverOutput ? inChannels : outChannels
        var w = [Float](repeating: 0, count: ((blockCh + 7) / 8) * other * T * 8)
        for o in 0..<outChannels { for i in 0..<inChannels { for t in 0..<T {
            let (c, j) = blockOverOutput ? (o, i) : (i, o)
            w[((c / 8 * other + j) * T + t) * 8 + c % 8] = weights[o * inChannels * T + i * T + t]
        } } }
        return w
    }

    /// The shared inner kernel: for each 8-pixel chunk, acc(lane c) = init(c) + Σ_{j,t}
    /// w(c, j, t) · src(j, pixel + offset(t)); then `emit` writes the eight channel vectors.
    @inline(__always)
    func sweep(_ src: UnsafeMutablePointer<Float>, sourceChannels J: Int, w0: UnsafePointer<Float>,
               offsets: UnsafePointer<Int>, initial: V, y: Int, x0: Int,
               emit: (V, V, V, V, V, V, V, V) -> Void) {
        let T = taps.count, S = stride
        var a0 = V(repeating: initial[0]), a1 = V(repeating: initial[1]), a2 = V(repeating: initial[2]), a3 = V(repeating: initial[3])
        var a4 = V(repeating: initial[4]), a5 = V(repeating: initial[5]), a6 = V(repeating: initial[6]), a7 = V(repeating: initial[7])
        for j in 0..<J {
            let row = src + j * plane + (y + pad) * S + x0 + pad
            let wj = w0 + j * T * 8
            for t in 0..<T {
                let v = Self.load(row + offsets[t])
                let w = wj + t * 8
                a0.addProduct(v, w[0]); a1.addProduct(v, w[1]); a2.addProduct(v, w[2]); a3.addProduct(v, w[3])
                a4.addProduct(v, w[4]); a5.addProduct(v, w[5]); a6.addProduct(v, w[6]); a7.addProduct(v, w[7])
            }
        }
        emit(a0, a1, a2, a3, a4, a5, a6, a7)
    }

    /// out(o) = bias(o) + Σ_{i,tap} W(o, i, tap) · in(i, shifted by tap).
    /// `weights` is (out, in · taps) as HexConv stores it.
    func forward(_ x: UnsafePointer<Float>, images N: Int, weights: [Float], bias: [Float], out: UnsafeMutablePointer<Float>) {
        let P = side * side, T = taps.count
        let blocks = (outChannels + 7) / 8
        let wT = blocked(weights, blockOverOutput: true)
        let offsets = taps.map { $0.dy * stride + $0.dx }
        var bias8 = [V](repeating: V(), count: blocks)
        for o in 0..<outChannels { bias8[o / 8][o % 8] = bias[o] }
        wT.withUnsafeBufferPointer { wb in offsets.withUnsafeBufferPointer { ob in
            let wp = UnsafeSendable(wb.baseAddress!), op = UnsafeSendable(ob.baseAddress!)
            let xp = UnsafeSendable(x), outp = UnsafeSendable(out)
            parallel(threads) { part in
                let padIn = scratch(inChannels)
                defer { release(padIn) }
                for n in images(N, part: part) {
                    fillPadded(xp.value + n * P, channels: inChannels, channelStride: N * P, into: padIn)
                    for b in 0..<blocks {
                        let oCount = min(8, outChannels - b * 8)
                        for y in 0..<side {
                            for xc in 0..<chunks {
                                let x0 = xc * 8, lanes = min(8, side - x0)
                                let base = outp.value + b * 8 * N * P + n * P + y * side + x0
                                sweep(padIn, sourceChannels: inChannels, w0: wp.value + b * inChannels * T * 8,
                                      offsets: op.value, initial: bias8[b], y: y, x0: x0) { a0, a1, a2, a3, a4, a5, a6, a7 in
                                    @inline(__always) func store(_ k: Int, _ a: V) {
                                        guard k < oCount else { return }
                                        let dst = base + k * N * P
                                        if lanes == 8 {
                                            UnsafeMutableRawPointer(dst).storeBytes(of: a, as: V.self)
                                        } else {
                                            for l in 0..<lanes { dst[l] = a[l] }
                                        }
                                    }
                                    store(0, a0); store(1, a1); store(2, a2); store(3, a3)
                                    store(4, a4); store(5, a5); store(6, a6); store(7, a7)
                                }
                            }
                        }
                    }
                }
            }
        } }
    }

    /// Input gradient: dIn(i) += Σ_{o,tap} W(o, i, tap) · dOut(o, shifted back by tap).
    func backwardInput(_ g: UnsafePointer<Float>, images N: Int, weights: [Float], into dIn: UnsafeMutablePointer<Float>) {
        let P = side * side, T = taps.count
        let blocks = (inChannels + 7) / 8
        let wX = blocked(weights, blockOverOutput: false)
        let offsets = taps.map { -$0.dy * stride - $0.dx }
        wX.withUnsafeBufferPointer { wb in offsets.withUnsafeBufferPointer { ob in
            let wp = UnsafeSendable(wb.baseAddress!), op = UnsafeSendable(ob.baseAddress!)
            let gp = UnsafeSendable(g), dp = UnsafeSendable(dIn)
            parallel(threads) { part in
                let padG = scratch(outChannels)
                defer { release(padG) }
                for n in images(N, part: part) {
                    fillPadded(gp.value + n * P, channels: outChannels, channelStride: N * P, into: padG)
                    for b in 0..<blocks {
                        let iCount = min(8, inChannels - b * 8)
                        for y in 0..<side {
                            for xc in 0..<chunks {
                                let x0 = xc * 8, lanes = min(8, side - x0)
                                let base = dp.value + b * 8 * N * P + n * P + y * side + x0
                                sweep(padG, sourceChannels: outChannels, w0: wp.value + b * outChannels * T * 8,
                                      offsets: op.value, initial: V(), y: y, x0: x0) { a0, a1, a2, a3, a4, a5, a6, a7 in
                                    @inline(__always) func add(_ k: Int, _ a: V) {
                                        guard k < iCount else { return }
                                        let dst = base + k * N * P
                                        if lanes == 8 {
                                            let old = UnsafeRawPointer(dst).loadUnaligned(as: V.self)
                                            UnsafeMutableRawPointer(dst).storeBytes(of: old + a, as: V.self)
                                        } else {
                                            for l in 0..<lanes { dst[l] += a[l] }
                                        }
                                    }
                                    add(0, a0); add(1, a1); add(2, a2); add(3, a3)
                                    add(4, a4); add(5, a5); add(6, a6); add(7, a7)
                                }
                            }
                        }
                    }
                }
            }
        } }
    }

    /// Weight gradient: dW(o, i, tap) = Σ_{n,y,x} dOut(o, n, y, x) · in(i, n, (y, x) + tap),
    /// in (out, in · taps) layout. Each image's sum is kept in double, and the images are added
    /// in order afterwards, so the result does not depend on the thread count.
    func backwardWeights(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, images N: Int) -> [Float] {
        let P = side * side, T = taps.count, S = stride, W = outChannels * inChannels * T
        var perImage = [Double](repeating: 0, count: N * W)
        let offsets = taps.map { $0.dy * S + $0.dx }
        // (input channel, tap) pairs in weight order, as offsets from the input plane origin.
        let pairCount = inChannels * T
        let pairOffsets = (0..<pairCount).map { k in (k / T) * plane + offsets[k % T] }
        perImage.withUnsafeMutableBufferPointer { pb in
            let pp = UnsafeSendable(pb.baseAddress!), xp = UnsafeSendable(x), gp = UnsafeSendable(g)
            parallel(threads) { part in
                let padIn = scratch(inChannels), padG = scratch(8)
                defer { release(padIn); release(padG) }
                for n in images(N, part: part) {
                    let total = pp.value + n * W
                    fillPadded(xp.value + n * P, channels: inChannels, channelStride: N * P, into: padIn)
                    for b in 0..<((outChannels + 7) / 8) {
                        let oCount = min(8, outChannels - b * 8)
                        fillPadded(gp.value + b * 8 * N * P + n * P, channels: oCount, channelStride: N * P, into: padG)
                        // Flat sweeps over strips of padded rows: the dOut planes are zero in
                        // the padding columns, so the padding adds nothing, one long loop keeps
                        // its six streams in registers, and a strip of the dOut planes stays
                        // in L1 while every (input channel, tap) pair passes over it. Strips
                        // are eight whole rows, a multiple of 8 floats, so chunks never
                        // overlap; the last strip ends at the last pixel.
                        let gBase = padG + pad * S + pad, inOrigin = padIn + pad * S + pad
                        let blockBase = b * 8
                        let rowsPerStrip = 8   // 8 · S is always a multiple of 8
                        var y0 = 0
                        while y0 < side {
                            let y1 = min(side, y0 + rowsPerStrip)
                            let start = y0 * S
                            let end = y1 == side ? (side - 1) * S + side : y1 * S
                            let flatChunks = (end - start + 7) / 8
                            // Register blocks of two (input channel, tap) pairs × four output
                            // channels: six loads per eight FMAs, all operands in registers.
                            for o0 in Swift.stride(from: 0, to: oCount, by: 4) {
                                let gs = gBase + start + o0 * plane
                                for k0 in Swift.stride(from: 0, to: pairCount, by: 2) {
                                    let k1 = min(k0 + 1, pairCount - 1)
                                    var xa = inOrigin + pairOffsets[k0] + start, xb = inOrigin + pairOffsets[k1] + start
                                    var g0 = gs, g1 = gs + plane, g2 = gs + 2 * plane, g3 = gs + 3 * plane
                                    var a0 = V(), a1 = V(), a2 = V(), a3 = V(), b0 = V(), b1 = V(), b2 = V(), b3 = V()
                                    for _ in 0..<flatChunks {
                                        let va = Self.load(xa), vb = Self.load(xb)
                                        let h0 = Self.load(g0), h1 = Self.load(g1), h2 = Self.load(g2), h3 = Self.load(g3)
                                        a0.addProduct(va, h0); a1.addProduct(va, h1); a2.addProduct(va, h2); a3.addProduct(va, h3)
                                        b0.addProduct(vb, h0); b1.addProduct(vb, h1); b2.addProduct(vb, h2); b3.addProduct(vb, h3)
                                        xa += 8; xb += 8; g0 += 8; g1 += 8; g2 += 8; g3 += 8
                                    }
                                    @inline(__always) func put(_ o: Int, _ a: V, _ b: V) {
                                        guard o0 + o < oCount else { return }
                                        let row = total + (blockBase + o0 + o) * pairCount
                                        row[k0] += Double(a.sum())
                                        if k1 != k0 { row[k1] += Double(b.sum()) }
                                    }
                                    put(0, a0, b0); put(1, a1, b1); put(2, a2, b2); put(3, a3, b3)
                                }
                            }
                            y0 = y1
                        }
                    }
                }
            }
        }
        var sum = [Double](repeating: 0, count: W)
        for n in 0..<N { for k in 0..<W { sum[k] += perImage[n * W + k] } }
        return sum.map { Float($0) }
    }
}
