import FlyvisBase
import Foundation

/// Direct hex-masked convolution kernels: flat SIMD sweeps over zero-padded image planes with
/// register-blocked fused multiply-adds. They replace im2col + GEMM for the decoder: its
/// layers have few output channels (8 and 3 by default), where im2col's memory traffic, not
/// arithmetic, dominated (im2col + sgemm measured 1.6× slower than the first direct version,
/// and about 4× slower than this one, on the reference workload).
/// Channel-major activations: value (c, n, y, x) at c·N·P + n·P + y·W + x.
///
/// Images are split into `threads` fixed, contiguous ranges. Every output element is computed
/// by one thread in a fixed order, and the weight gradient is reduced over images in image
/// order, so results are bitwise the same for any thread count.
struct DirectConv {
    let inChannels: Int, outChannels: Int
    let taps: [(dy: Int, dx: Int)]
    let side: Int  // W = H of the square map (31)
    let pad: Int  // kernel / 2
    var threads = 1
    /// Row stride of the padded planes. The kernels sweep the planes flat, padding columns
    /// included (their results are discarded, and zero dOut there adds nothing), so the stride
    /// is kept minimal: the padding columns are wasted work.
    var stride: Int { side + 2 * pad }
    /// Floats per padded plane: the rows plus eight zeros, so that the weight gradient's last
    /// 8-wide chunk reads zeros past the last pixel even without padding (kernel size 1).
    var plane: Int { stride * (side + 2 * pad) + 8 }

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
            for y in 0..<side { Self.copy(from: s + y * side, to: d + y * stride, count: side) }
        }
    }

    /// dst[0..<count] = src[0..<count] (where: only where mask[i] > 0, else 0; rectified: the
    /// values' own ReLU, v > 0 ? v : 0), eight at a time with an overlapping last vector: rows
    /// are ~31 floats, where a memmove call per row cost more than the copy. Writes nothing
    /// outside dst[0..<count].
    @inline(__always)
    static func copy(
        from src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int,
        where mask: UnsafePointer<Float>? = nil, rectified: Bool = false
    ) {
        @inline(__always) func move(_ i: Int) {
            var v = load(src + i)
            if let m = mask { v.replace(with: 0, where: .!(load(m + i) .> 0)) }
            if rectified { v.replace(with: 0, where: .!(v .> 0)) }
            UnsafeMutableRawPointer(dst + i).storeBytes(of: v, as: V.self)
        }
        guard count >= 8 else {
            for i in 0..<count {
                let keep = (mask.map { $0[i] > 0 } ?? true) && (!rectified || src[i] > 0)
                dst[i] = keep ? src[i] : 0
            }
            return
        }
        var i = 0
        while i + 8 < count { move(i); i += 8 }
        move(count - 8)
    }

    /// dst[x] = value for x in 0..<width outside x0...x1 (every x when x0 > x1): the row's
    /// pixels that a sweep over spans does not produce.
    @inline(__always)
    static func fillOutside(_ dst: UnsafeMutablePointer<Float>, width: Int, _ x0: Int, _ x1: Int, with value: Float) {
        guard x0 <= x1 else { dst.update(repeating: value, count: width); return }
        if x0 > 0 { dst.update(repeating: value, count: x0) }
        if x1 + 1 < width { (dst + x1 + 1).update(repeating: value, count: width - x1 - 1) }
    }

    /// Where a sweep's source planes come from.
    enum Source {
        /// Channel-major maps, value (c, n, y, x) at c·N·P + n·P + y·W + x: each image is first
        /// copied into zero-bordered scratch planes. (The decoder's first layer, which read its
        /// input in place, is now SpectralConv.)
        case maps(UnsafePointer<Float>)
    }

    /// Image n's first plane (its padded top-left corner), copied into `scratch` from
    /// channel-major maps.
    private func planes(
        _ source: Source, image n: Int, images N: Int, channels: Int,
        scratch: UnsafeMutablePointer<Float>?
    ) -> UnsafePointer<Float> {
        switch source {
        case let .maps(src):
            fillPadded(src + n * side * side, channels: channels, channelStride: N * side * side, into: scratch!)
            return UnsafePointer(scratch!)
        }
    }

    /// Zeroed scratch for one image's padded planes, with slack for the flat sweeps' reads past
    /// the last row.
    /// `guardFloats` zeros also precede it, for chunks that start left of a row's interior.
    /// Release with `release`.
    func scratch(_ channels: Int) -> UnsafeMutablePointer<Float> {
        let n = Self.guardFloats + channels * plane + 2 * stride + 64
        let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
        p.initialize(repeating: 0, count: n)
        return p + Self.guardFloats
    }
    static let guardFloats = 64
    func release(_ p: UnsafeMutablePointer<Float>) { (p - Self.guardFloats).deallocate() }

    /// Interior pixels a sweep must produce in each row: x0...x1 (none when x0 > x1); nil for
    /// every pixel of every row.
    typealias Spans = [(x0: Int, x1: Int)]

    func rowSpans(_ spans: Spans?) -> Spans { spans ?? Array(repeating: (0, side - 1), count: side) }

    /// Start positions (flat offsets from the interior origin) of 8-wide chunks covering `spans`
    /// row by row: ⌈length / 8⌉ chunks per row, starting at the span's first pixel, moved left
    /// just enough to end inside the row's right padding. Only the needed pixels of a row are
    /// swept (a whole 31-pixel row is 4 chunks, against 4.4 in a flat sweep of the padded
    /// plane, and a hexagon's rows are shorter). `disjoint` says whether every row's chunks stay
    /// inside its padded row (then no two chunks overlap, and the positions they add beyond the
    /// spans are padding or outside the spans).
    func chunkStarts(_ spans: Spans?) -> (starts: [Int], disjoint: Bool) {
        var starts: [Int] = [], disjoint = true
        for (y, span) in rowSpans(spans).enumerated() where span.x0 <= span.x1 {
            let n = (span.x1 - span.x0 + 8) / 8
            var s = span.x0
            if s + 8 * n > side + pad { s = max(span.x1 + 1 - 8 * n, side + pad - 8 * n) }
            if s < -pad { disjoint = false }
            for j in 0..<n { starts.append(y * stride + s + 8 * j) }
        }
        return (starts, disjoint)
    }

    /// Offsets of the (channel, tap) pairs, in weight order, from the first plane's origin.
    func pairOffsets(channels: Int, tapOffsets: [Int]) -> [Int] {
        let T = tapOffsets.count
        return (0..<(channels * T)).map { k in (k / T) * plane + tapOffsets[k % T] }
    }

    /// Regroups (out, in · taps) weights into blocks of four channels of the side that is
    /// computed (`overOutput`: the output channels, else the input channels), each block
    /// holding, per (other channel, tap) pair k, four weights: entry (block · pairs + k) · 4 + lane.
    func blocked4(_ weights: [Float], overOutput: Bool) -> [Float] {
        let T = taps.count
        let blockCh = overOutput ? outChannels : inChannels
        let pairs = (overOutput ? inChannels : outChannels) * T
        var w = [Float](repeating: 0, count: ((blockCh + 3) / 4) * pairs * 4)
        for o in 0..<outChannels {
            for i in 0..<inChannels {
                for t in 0..<T {
                    let (c, k) = overOutput ? (o, i * T + t) : (i, o * T + t)
                    w[((c / 4) * pairs + k) * 4 + c % 4] = weights[o * inChannels * T + i * T + t]
                }
            }
        }
        return w
    }

    /// dst(c, q) = initial(c) + Σ_k w(k, c) · src(q + offset(k)) for four channels c at the
    /// 8-wide chunks starting at q0, q1, q2 (flat offsets from the interior origin), summed in
    /// pair order k. `src` is the interior origin of the first source plane, `dst` that of the
    /// first of four output planes. Register blocks of 4 channels × 3 chunks: three loads and
    /// four broadcasts per twelve FMAs. A position is computed the same way by any chunk that
    /// covers it. `resume`: start from dst's values instead of `initial`, to continue a sum
    /// over later pairs (the same operations in the same order as one call over all pairs).
    @inline(__always)
    func sweep3(
        _ src: UnsafePointer<Float>, pairs: Int, offsets: UnsafePointer<Int>, weights w: UnsafePointer<Float>,
        initial: SIMD4<Float>, resume: Bool, _ q0: Int, _ q1: Int, _ q2: Int, into dst: UnsafeMutablePointer<Float>
    ) {
        @inline(__always) func start(_ c: Int) -> (V, V, V) {
            guard resume else { let v = V(repeating: initial[c]); return (v, v, v) }
            let o = dst + c * plane
            return (Self.load(o + q0), Self.load(o + q1), Self.load(o + q2))
        }
        var (a0, a1, a2) = start(0), (b0, b1, b2) = start(1), (c0, c1, c2) = start(2), (d0, d1, d2) = start(3)
        for k in 0..<pairs {
            let p = src + offsets[k], wk = w + k * 4
            let x0 = Self.load(p + q0), x1 = Self.load(p + q1), x2 = Self.load(p + q2)
            let w0 = wk[0], w1 = wk[1], w2 = wk[2], w3 = wk[3]
            a0.addProduct(x0, w0); a1.addProduct(x1, w0); a2.addProduct(x2, w0)
            b0.addProduct(x0, w1); b1.addProduct(x1, w1); b2.addProduct(x2, w1)
            c0.addProduct(x0, w2); c1.addProduct(x1, w2); c2.addProduct(x2, w2)
            d0.addProduct(x0, w3); d1.addProduct(x1, w3); d2.addProduct(x2, w3)
        }
        @inline(__always) func put(_ c: Int, _ v0: V, _ v1: V, _ v2: V) {
            let o = dst + c * plane
            UnsafeMutableRawPointer(o + q0).storeBytes(of: v0, as: V.self)
            UnsafeMutableRawPointer(o + q1).storeBytes(of: v1, as: V.self)
            UnsafeMutableRawPointer(o + q2).storeBytes(of: v2, as: V.self)
        }
        put(0, a0, a1, a2); put(1, b0, b1, b2); put(2, c0, c1, c2); put(3, d0, d1, d2)
    }

    /// Runs `sweep3` over every image and block of four computed channels, at the chunks
    /// covering `spans`, and hands every row, with its needed pixels, to `emit(channel, image,
    /// row, values at x = 0, x0, x1)` (x0 > x1: none).
    private func sweepImages(
        _ source: Source, images N: Int, sourceChannels J: Int, computed C: Int,
        weights: [Float], offsets: [Int], initial: [Float], spans: Spans?,
        emit: (Int, Int, Int, UnsafePointer<Float>, Int, Int) -> Void
    ) {
        let S = stride, pairs = J * taps.count
        let origin = pad * S + pad
        let pairOffsets = pairOffsets(channels: J, tapOffsets: offsets)
        // Source channels in groups whose rows under the kernel, for the chunks in flight, stay
        // in L1 (12 KB) beside their weights: the first layer's 34 channels overflowed it
        // (every group's partial sums are stored and reloaded, exactly).
        let group = max(1, 12_288 / ((2 * pad + 2) * S * MemoryLayout<Float>.size)), T = taps.count
        var init4 = [SIMD4<Float>](repeating: .zero, count: (C + 3) / 4)
        for c in 0..<min(C, initial.count) { init4[c / 4][c % 4] = initial[c] }
        // Chunks in threes (the last repeated), as the register blocks take them.
        var starts = chunkStarts(spans).starts
        while starts.count % 3 != 0, let last = starts.last { starts.append(last) }
        let rows = rowSpans(spans)
        weights.withUnsafeBufferPointer { wb in
            pairOffsets.withUnsafeBufferPointer { ob in
                starts.withUnsafeBufferPointer { sb in
                    let wp = wb.baseAddress!, op = ob.baseAddress!, qs = sb.baseAddress!, nq = sb.count
                    splitRange(N, threads) { images in
                        let copies: UnsafeMutablePointer<Float>? = if case .maps = source { scratch(J) } else { nil }
                        let out = scratch(4)
                        defer { copies.map(release); release(out) }
                        for n in images {
                            let padded = planes(source, image: n, images: N, channels: J, scratch: copies)
                            for blk in 0..<init4.count {
                                for j0 in Swift.stride(from: 0, to: J, by: group) {
                                    let k0 = j0 * T, count = (min(J, j0 + group) - j0) * T
                                    var t = 0
                                    while t < nq {
                                        sweep3(
                                            padded + origin, pairs: count, offsets: op + k0, weights: wp + (blk * pairs + k0) * 4,
                                            initial: init4[blk], resume: j0 > 0, qs[t], qs[t + 1], qs[t + 2], into: out + origin)
                                        t += 3
                                    }
                                }
                                for c in 0..<min(4, C - blk * 4) {
                                    for (y, r) in rows.enumerated() {
                                        emit(blk * 4 + c, n, y, out + origin + c * plane + y * S, r.x0, r.x1)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// out(o) = bias(o) + Σ_{i,tap} W(o, i, tap) · in(i, shifted by tap).
    /// `weights` is (out, in · taps) as HexConv stores it.
    /// Only the pixels in `spans` (every pixel when nil) are computed; with `biasOutside` the
    /// others get the bias (right when the input is zero under all their taps), else they are
    /// not written.
    func forward(
        _ x: Source, images N: Int, weights: [Float], bias: [Float], out: UnsafeMutablePointer<Float>,
        spans: Spans? = nil, biasOutside: Bool = false
    ) {
        let P = side * side, NP = N * P, W = side
        sweepImages(
            x, images: N, sourceChannels: inChannels, computed: outChannels,
            weights: blocked4(weights, overOutput: true), offsets: taps.map { $0.dy * stride + $0.dx },
            initial: bias, spans: spans
        ) { c, n, y, row, x0, x1 in
            let dst = out + c * NP + n * P + y * W
            if x0 <= x1 { Self.copy(from: row + x0, to: dst + x0, count: x1 - x0 + 1) }
            if biasOutside { Self.fillOutside(dst, width: W, x0, x1, with: bias[c]) }
        }
    }

    /// Input gradient: dIn(i) += Σ_{o,tap} W(o, i, tap) · dOut(o, shifted back by tap).
    /// The input gradient of the pixels in `spans` (every pixel when nil), handed row by row to
    /// `emit(input channel, image, row, values at x = 0, x0, x1)`.
    func backwardInput(
        _ g: UnsafePointer<Float>, images N: Int, weights: [Float], spans: Spans?,
        emit: (Int, Int, Int, UnsafePointer<Float>, Int, Int) -> Void
    ) {
        sweepImages(
            .maps(g), images: N, sourceChannels: outChannels, computed: inChannels,
            weights: blocked4(weights, overOutput: false), offsets: taps.map { -$0.dy * stride - $0.dx },
            initial: [], spans: spans, emit: emit)
    }

    /// Only the pixels in `spans` (every pixel when nil) are produced; `accumulate: false`
    /// overwrites every pixel instead of adding, with zeros off the spans (right when dOut
    /// does not reach them).
    func backwardInput(
        _ g: UnsafePointer<Float>, images N: Int, weights: [Float], into dIn: UnsafeMutablePointer<Float>,
        spans: Spans? = nil, accumulate: Bool = true
    ) {
        let P = side * side, NP = N * P, W = side
        sweepImages(
            .maps(g), images: N, sourceChannels: outChannels, computed: inChannels,
            weights: blocked4(weights, overOutput: false), offsets: taps.map { -$0.dy * stride - $0.dx },
            initial: [], spans: spans
        ) { c, n, y, row, x0, x1 in
            let dst = dIn + c * NP + n * P + y * W
            if accumulate {
                for x in Swift.stride(from: x0, through: x1, by: 1) { dst[x] += row[x] }
            } else {
                if x0 <= x1 { Self.copy(from: row + x0, to: dst + x0, count: x1 - x0 + 1) }
                Self.fillOutside(dst, width: W, x0, x1, with: 0)
            }
        }
    }

    /// Weight gradient: dW(o, i, tap) = Σ_{n,y,x} dOut(o, n, y, x) · in(i, n, (y, x) + tap),
    /// in (out, in · taps) layout. `spans` must cover every pixel where dOut · in(shifted) may
    /// be nonzero (nil: all). Each image's sum is kept in double, and the images are added in
    /// order afterwards, so the result does not depend on the thread count.
    func backwardWeights(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, images N: Int, spans: Spans? = nil) -> [Float] {
        var perImage: [Double] = []
        return backwardWeights(.maps(x), g, images: N, spans: spans, perImage: &perImage)
    }

    /// `perImage`: scratch for the per-image sums, kept by the caller between calls (6.6 MB
    /// for the first layer at the reference size, which a fresh allocation page-faults in).
    func backwardWeights(
        _ x: Source, _ g: UnsafePointer<Float>, images N: Int, spans: Spans?,
        perImage: inout [Double]
    ) -> [Float] {
        let P = side * side, S = stride, pairCount = inChannels * taps.count, W = outChannels * pairCount
        // Every entry is written below, so the scratch needs no clearing.
        if perImage.count < N * W { perImage = [Double](repeating: 0, count: N * W) }
        let pairOffsets = pairOffsets(channels: inChannels, tapOffsets: taps.map { $0.dy * S + $0.dx })
        // Row chunks when they are disjoint; else flat chunks over the whole interior, padding
        // columns included (the dOut planes are zero there, so the padding adds nothing).
        let rowChunks = chunkStarts(spans)
        let chunks =
            rowChunks.disjoint
            ? rowChunks.starts
            : Array(Swift.stride(from: 0, to: (side - 1) * S + side, by: 8))
        perImage.withUnsafeMutableBufferPointer { pb in
            chunks.withUnsafeBufferPointer { cb in
                pairOffsets.withUnsafeBufferPointer { ob in
                    let perImage = pb.baseAddress!, qs = cb.baseAddress!, nq = cb.count, offsets = ob.baseAddress!
                    splitRange(N, threads) { images in
                        // dOut planes rounded up to a multiple of four, so every register block reads
                        // real (zero) planes.
                        let copies: UnsafeMutablePointer<Float>? = if case .maps = x { scratch(inChannels) } else { nil }
                        let padG = scratch((outChannels + 3) / 4 * 4)
                        defer { copies.map(release); release(padG) }
                        let gBase = padG + pad * S + pad
                        for n in images {
                            let total = perImage + n * W
                            let inOrigin = planes(x, image: n, images: N, channels: inChannels, scratch: copies) + pad * S + pad
                            fillPadded(g + n * P, channels: outChannels, channelStride: N * P, into: padG)
                            // Register blocks of four output channels × three (input channel, tap)
                            // pairs over all of the image's chunks: seven loads per twelve FMAs, and
                            // twelve independent accumulation chains (FMA latency × two pipes needs
                            // eight). Output channels outer: a block's dOut chunks (14 KB for the
                            // hexagon) stay in L1 while the pairs pass, and a channel's input plane
                            // (5 KB) while its taps pass. One horizontal sum per weight and image.
                            for o0 in Swift.stride(from: 0, to: outChannels, by: 4) {
                                let g0 = gBase + o0 * plane, g1 = g0 + plane, g2 = g1 + plane, g3 = g2 + plane
                                for k0 in Swift.stride(from: 0, to: pairCount, by: 3) {
                                    let k1 = min(k0 + 1, pairCount - 1), k2 = min(k0 + 2, pairCount - 1)
                                    let xa = inOrigin + offsets[k0], xb = inOrigin + offsets[k1], xc = inOrigin + offsets[k2]
                                    var a0 = V(), a1 = V(), a2 = V(), a3 = V(), b0 = V(), b1 = V(), b2 = V(), b3 = V()
                                    var c0 = V(), c1 = V(), c2 = V(), c3 = V()
                                    for c in 0..<nq {
                                        let q = qs[c]
                                        let va = Self.load(xa + q), vb = Self.load(xb + q), vc = Self.load(xc + q)
                                        var h = Self.load(g0 + q)
                                        a0.addProduct(va, h); b0.addProduct(vb, h); c0.addProduct(vc, h)
                                        h = Self.load(g1 + q)
                                        a1.addProduct(va, h); b1.addProduct(vb, h); c1.addProduct(vc, h)
                                        h = Self.load(g2 + q)
                                        a2.addProduct(va, h); b2.addProduct(vb, h); c2.addProduct(vc, h)
                                        h = Self.load(g3 + q)
                                        a3.addProduct(va, h); b3.addProduct(vb, h); c3.addProduct(vc, h)
                                    }
                                    @inline(__always) func put(_ o: Int, _ a: V, _ b: V, _ c: V) {
                                        guard o0 + o < outChannels else { return }
                                        let row = total + (o0 + o) * pairCount
                                        row[k0] = Double(Self.sum(a))
                                        row[k1] = Double(Self.sum(b))
                                        row[k2] = Double(Self.sum(c))
                                    }
                                    put(0, a0, b0, c0); put(1, a1, b1, c1); put(2, a2, b2, c2); put(3, a3, b3, c3)
                                }
                            }
                        }
                    }
                }
            }
        }
        var sum = [Double](repeating: 0, count: W)
        for n in 0..<N { for k in 0..<W { sum[k] += perImage[n * W + k] } }
        return sum.map { Float($0) }
    }

    /// The lanes' sum in a fixed tree order (halves, then quarters).
    @inline(__always) static func sum(_ v: V) -> Float {
        let h = v.lowHalf + v.highHalf, q = h.lowHalf + h.highHalf
        return q[0] + q[1]
    }
}
