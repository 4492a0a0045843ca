import FlyvisBase
import Foundation

/// The decoder's first convolution computed by FFT, with eight images per SIMD vector.
///
/// Why: the first layer (34 → 8 channels, 19 taps by default) is nine tenths of the decoder's
/// arithmetic, and its direct kernels were already at ~90 % of the FMA peak on the lanes they
/// computed. In the frequency domain each (output, input) channel pair costs one complex
/// multiply-add per bin (28 × 18 on the hexagon's grid for the 31 × 31 map) instead of 19
/// multiply-adds per pixel (961), and the transforms are shared by all pairs.
/// Carrying images in the lanes leaves no partially used vectors on the hexagon's rows.
///
/// The transform runs on a periodic grid (SpectralGrid) on which the circular correlation
/// equals the zero-padded one on the map: the map in an L × L square, L the smallest even
/// 2ᵃ3ᵇ ≥ side + 2·pad, for inputs on the whole map, or the hexagon's own periodic lattice
/// (s rows of 3s) for inputs that are zero off the hexagon, a quarter fewer bins. Results
/// agree with the direct sums to float32 rounding (about 1e-6 of the largest value), not bit
/// for bit.
///
/// Layouts (floats). Spatial lanes: value (image g·8 + l, channel c, pixel q) at
/// ((g·C + c)·P + q)·8 + l. Spectra: bin f = kx·height + ky (kx ≤ width/2, the real rows'
/// half spectrum), value (group g, bin f, channel c) at ((g·bins + f)·C + c)·16, real parts
/// in the first eight floats, imaginary in the next eight. The transforms write each group's
/// spectra straight to their place among the kept ones (a per-thread buffer when none are
/// kept), and the products read them from there while they are in cache. The weight gradient
/// reads a bin's values of every group, one stretch per group (2 × 20 streams at the reference
/// size; prefetching them by hand ran slower). Bin-major kept spectra, one stream per bin for
/// the weight gradient, needed a 30 MB copy per forward: a tenth of the forward's time.
///
/// Determinism: every group of eight images is transformed by one thread in a fixed order,
/// and the weight gradient sums groups in group order per bin, with bins split over threads,
/// so the results do not depend on the thread count.
struct SpectralConv {
    typealias V = SIMD8<Float>
    static let lanes = 8
    let inChannels: Int, outChannels: Int
    let taps: [(dy: Int, dx: Int)]
    let grid: SpectralGrid
    /// The transforms along the grid's rows (length `width`) and columns (`height`).
    let rowFFT: LaneFFT, columnFFT: LaneFFT
    var threads = 1

    /// On the square map, for inputs anywhere on it.
    init(inChannels: Int, outChannels: Int, taps: [(dy: Int, dx: Int)], side: Int, pad: Int, threads: Int = 1) {
        self.init(
            inChannels: inChannels, outChannels: outChannels, taps: taps,
            grid: .square(side: side, pad: pad, taps: taps), threads: threads)
    }

    /// On `grid`, which must have been built for these taps (its shifts are theirs).
    init(inChannels: Int, outChannels: Int, taps: [(dy: Int, dx: Int)], grid: SpectralGrid, threads: Int = 1) {
        precondition(grid.shifts.count == taps.count, "SpectralConv: the grid was built for \(grid.shifts.count) taps, not \(taps.count)")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.taps = taps
        self.grid = grid
        rowFFT = LaneFFT(size: grid.width)
        columnFFT = grid.height == grid.width ? rowFFT : LaneFFT(size: grid.height)
        self.threads = max(1, threads)
    }

    var side: Int { grid.side }
    var width: Int { grid.width }
    var height: Int { grid.height }
    var half: Int { width / 2 + 1 }
    var bins: Int { height * half }
    var pixels: Int { side * side }
    var pairs: Int { inChannels * outChannels }
    static func groups(_ images: Int) -> Int { (images + lanes - 1) / lanes }

    func spectrumCount(images: Int, channels: Int) -> Int { Self.groups(images) * bins * channels * 16 }

    /// Runs `body(part, range)` on `threads` fixed, contiguous parts of 0..<count.
    private func split(_ count: Int, _ body: (Int, Range<Int>) -> Void) {
        let parts = threads
        parallel(parts) { k in body(k, (count * k / parts)..<(count * (k + 1) / parts)) }
    }

    /// cos and sin of 2π(kx·column/width + ky·row/height) per bin and tap, (row, column) the
    /// tap's grid shift, times `scale(kx)`: (f · T + t) · 2. The angle's fraction is reduced
    /// exactly (over the least common multiple of the lengths) before the cosine.
    func phases(scale: (Int) -> Double) -> [Float] {
        let T = taps.count
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        let n = width / gcd(width, height) * height, perColumn = n / width, perRow = n / height
        var table = [Float](repeating: 0, count: bins * T * 2)
        for kx in 0..<half {
            for ky in 0..<height {
                for (t, shift) in grid.shifts.enumerated() {
                    let k = ((kx * shift.column * perColumn + ky * shift.row * perRow) % n + n) % n
                    let angle = 2 * Double.pi * Double(k) / Double(n)
                    table[((kx * height + ky) * T + t) * 2] = Float(scale(kx) * cos(angle))
                    table[((kx * height + ky) * T + t) * 2 + 1] = Float(scale(kx) * sin(angle))
                }
            }
        }
        return table
    }

    /// Per-thread buffers, kept by the caller between calls (fresh megabytes would be
    /// page-faulted in on every call): a row pair going in and coming out of the row
    /// transforms, the transforms' four stage buffers, the half spectra after the forward row
    /// pass (columns zero-padded to `height`, the padding never written) and after the inverse
    /// column pass, one group's spectral products, and one group's input or input gradient
    /// lane-major (`staged`, channel · `grid.input.count` + index).
    final class Work {
        let rowRe: UnsafeMutablePointer<V>, rowIm: UnsafeMutablePointer<V>
        let outRe: UnsafeMutablePointer<V>, outIm: UnsafeMutablePointer<V>
        let buffers: UnsafeMutablePointer<V>
        let forwardRe: UnsafeMutablePointer<V>, forwardIm: UnsafeMutablePointer<V>
        let inverseRe: UnsafeMutablePointer<V>, inverseIm: UnsafeMutablePointer<V>
        let staged: UnsafeMutablePointer<V>
        /// Two groups' spectra and products (the products are computed for two groups at once).
        let product: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
        let spectrum: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
        let vectors: Int, floats: Int
        init(_ conv: SpectralConv) {
            let W = conv.width, B = conv.bins, longest = max(conv.width, conv.height)
            vectors = 4 * W + 4 * longest + 4 * B + conv.inChannels * conv.grid.input.count
            let all = UnsafeMutablePointer<V>.allocate(capacity: vectors)
            all.initialize(repeating: V(), count: vectors)
            rowRe = all; rowIm = all + W; outRe = all + 2 * W; outIm = all + 3 * W; buffers = all + 4 * W
            forwardRe = buffers + 4 * longest; forwardIm = forwardRe + B
            inverseRe = forwardIm + B; inverseIm = inverseRe + B
            staged = inverseIm + B
            floats = B * max(conv.inChannels, conv.outChannels) * 16
            let p = AlignedBuffer<Float>.allocateZeroed(4 * floats)
            product = (p, p + floats)
            spectrum = (p + 2 * floats, p + 3 * floats)
        }
        deinit { rowRe.deinitialize(count: vectors); rowRe.deallocate(); product.0.deallocate() }
    }

    /// One `Work` per thread and the phase tables, kept while the shape stays the same.
    final class Scratch {
        private(set) var work: [Work] = []
        /// `phases` for the kernel spectrum (scaled by 1/(width·height)) and for the weight
        /// gradient (scaled by c_f/(width·height)).
        private(set) var kernelPhases: [Float] = [], gradientPhases: [Float] = []
        private var key: [Int] = []
        /// The kernel spectrum (K) of the last forward, for the backward.
        var kernel: [Float] = []
        /// The weight gradient's products per bin and its accumulators.
        var products: [Float] = [], taps: [Float] = []
        func prepare(_ conv: SpectralConv) {
            let k =
                [
                    conv.threads, conv.width, conv.height, conv.grid.filledRows, conv.grid.input.count, conv.inChannels,
                    conv.outChannels,
                ]
                + conv.grid.shifts.flatMap { [$0.row, $0.column] }
            guard k != key else { return }
            work = (0..<conv.threads).map { _ in Work(conv) }
            let W = conv.width, points = Double(conv.width * conv.height)
            kernelPhases = conv.phases { _ in 1 / points }
            gradientPhases = conv.phases { kx in (kx == 0 || 2 * kx == W ? 1.0 : 2.0) / points }
            key = k
        }
        package init() {}
    }

    // MARK: Kernel spectrum

    /// K(f) = Σ_t w(o, i, t)·e^{+2πi(kx·column_t/width + ky·row_t/height)} / (width·height)
    /// per bin, (row_t, column_t) tap t's grid shift, as three planes of the (o, i) pairs — Re,
    /// Im, −Im — so that the products need only broadcasts: entry (f · 3 + plane) · pairs +
    /// o · I + i. The inverse transform's 1/(width·height) is folded in.
    func kernelSpectrum(_ weights: [Float], into out: inout [Float], phases table: [Float]) {
        let T = taps.count, n = pairs
        if out.count != bins * 3 * n { out = [Float](repeating: 0, count: bins * 3 * n) }
        // Weights as (tap, pair) so that a tap's weights are contiguous.
        var wt = [Float](repeating: 0, count: T * n)
        for pair in 0..<n { for t in 0..<T { wt[t * n + pair] = weights[pair * T + t] } }
        out.withUnsafeMutableBufferPointer { ob in
            wt.withUnsafeBufferPointer { wb in
                table.withUnsafeBufferPointer { tb in
                    let op = ob.baseAddress!, wp = wb.baseAddress!, tp = tb.baseAddress!
                    split(bins) { _, range in
                        for f in range {
                            let re = op + f * 3 * n, im = re + n, neg = im + n
                            for j in 0..<n { re[j] = 0; im[j] = 0 }
                            for t in 0..<T {
                                let c = tp[(f * T + t) * 2], s = tp[(f * T + t) * 2 + 1], w = wp + t * n
                                for j in 0..<n { re[j] += w[j] * c; im[j] += w[j] * s }
                            }
                            for j in 0..<n { neg[j] = -im[j] }
                        }
                    }
                }
            }
        }
    }

    // MARK: 2-D transforms of one channel

    /// The row and column transforms' twiddle tables.
    @inline(__always)
    func withTables<R>(_ body: (_ row: UnsafePointer<Float>, _ column: UnsafePointer<Float>) -> R) -> R {
        rowFFT.table.withUnsafeBufferPointer { r in
            columnFFT.table.withUnsafeBufferPointer { c in body(r.baseAddress!, c.baseAddress!) }
        }
    }

    /// The half spectrum of one real channel into `dst`, bins `binStride` channels (16 floats
    /// each) apart (real parts at +0, imaginary at +8). `load(y, row)` writes grid row y's
    /// `width` values as lanes, for the grid's filled rows (the rest are zero). Rows in pairs
    /// as one complex transform, split by symmetry; then one complex transform per column of
    /// the half spectrum, written straight into `dst`.
    @inline(__always)
    func forward2D(
        load: (Int, UnsafeMutablePointer<V>) -> Void, into dst: UnsafeMutableRawPointer, binStride: Int,
        work: Work, tables: (row: UnsafePointer<Float>, column: UnsafePointer<Float>)
    ) {
        let W = width, Ht = height, H = half, S = grid.filledRows, bs = binStride * 64
        let tRe = work.forwardRe, tIm = work.forwardIm, zr = work.outRe, zi = work.outIm
        for y0 in Swift.stride(from: 0, to: S, by: 2) {
            let y1 = y0 + 1
            load(y0, work.rowRe)
            if y1 < S { load(y1, work.rowIm) } else { work.rowIm.update(repeating: V(), count: W) }
            rowFFT.transform(
                work.rowRe, work.rowIm, inStride: 32, zr, zi, outStride: 32, buffers: work.buffers, table: tables.row)
            for k in 0..<H {
                let c = k == 0 ? 0 : W - k
                tRe[k * Ht + y0] = 0.5 * (zr[k] + zr[c]); tIm[k * Ht + y0] = 0.5 * (zi[k] - zi[c])
                if y1 < S { tRe[k * Ht + y1] = 0.5 * (zi[k] + zi[c]); tIm[k * Ht + y1] = 0.5 * (zr[c] - zr[k]) }
            }
        }
        for k in 0..<H {
            let out = dst + k * Ht * bs
            columnFFT.transform(
                tRe + k * Ht, tIm + k * Ht, inStride: 32, out, out + 32, outStride: bs, buffers: work.buffers,
                table: tables.column)
        }
    }

    /// The inverse of `forward2D` (unnormalised: width·height times the real channel) from a
    /// half spectrum at `src`, handed out row by row for the filled grid rows: `emit(y, row)`,
    /// each row `width` lanes (rows come from one transform in pairs).
    @inline(__always)
    func inverse2D(
        _ src: UnsafeRawPointer, binStride: Int, work: Work, tables: (row: UnsafePointer<Float>, column: UnsafePointer<Float>),
        emit: (Int, UnsafePointer<V>) -> Void
    ) {
        let W = width, Ht = height, H = half, S = grid.filledRows, bs = binStride * 64
        let tRe = work.inverseRe, tIm = work.inverseIm
        // Columns: the inverse is the forward transform with re and im swapped in and out.
        for k in 0..<H {
            let col = src + k * Ht * bs
            columnFFT.transform(
                col + 32, col, inStride: bs, tIm + k * Ht, tRe + k * Ht, outStride: 32, buffers: work.buffers,
                table: tables.column)
        }
        let zr = work.rowRe, zi = work.rowIm
        for y0 in Swift.stride(from: 0, to: S, by: 2) {
            let y1 = y0 + 1, pair = y1 < S
            // Z = A + i·B over the whole row, A and B extended by Hermitian symmetry; the
            // imaginary parts at k = 0 and W/2 are dropped (zero for a real row). Stored
            // swapped (Im Z in zr) for the inverse.
            @inline(__always) func edge(_ k: Int) {
                zi[k] = tRe[k * Ht + y0]
                zr[k] = pair ? tRe[k * Ht + y1] : V()
            }
            edge(0)
            edge(W / 2)
            for k in 1..<(W / 2) {
                let ar = tRe[k * Ht + y0], ai = tIm[k * Ht + y0]
                let br = pair ? tRe[k * Ht + y1] : V(), bi = pair ? tIm[k * Ht + y1] : V()
                zi[k] = ar - bi; zr[k] = ai + br
                zi[W - k] = ar + bi; zr[W - k] = br - ai
            }
            rowFFT.transform(zr, zi, inStride: 32, work.outIm, work.outRe, outStride: 32, buffers: work.buffers, table: tables.row)
            emit(y0, work.outRe)
            if pair { emit(y1, work.outIm) }
        }
    }

    // MARK: Layer passes

    /// out(o) = bias(o) + Σ_{i,t} w(o, i, t)·x(i, shifted by t) on the whole map, channel-major
    /// (o, n, pixel) as DirectConv writes it: the grid's output pixels from the transforms, its
    /// bias-only pixels the bias. `stage(group, staged)` writes the group's input lane-major,
    /// every vector `staged[channel · grid.input.count + index]` for `grid.input`'s indices
    /// (zeros in lanes past the last image): the caller reads its own layout once in its own
    /// order, and the grid rows are then filled by one vector load per entry. The input's
    /// spectra are kept in `spectra` (`spectrumCount`) for the weight gradient (nil: not kept,
    /// for evaluation: copying out 30 MB was a tenth of the decoder's forward), and the kernel
    /// spectrum in `scratch`.
    func forward(
        stage: (Int, UnsafeMutablePointer<V>) -> Void, images N: Int, weights: [Float], bias: [Float],
        spectra: UnsafeMutablePointer<Float>?, out: UnsafeMutablePointer<Float>, scratch: Scratch
    ) {
        let I = inChannels, O = outChannels, B = bins, P = pixels, G = Self.groups(N), rows = grid.output
        let W = width, inputs = grid.input, count = inputs.count
        scratch.prepare(self)
        kernelSpectrum(weights, into: &scratch.kernel, phases: scratch.kernelPhases)
        let work = scratch.work
        withTables { rowTable, columnTable in
            scratch.kernel.withUnsafeBufferPointer { kb in
                let tables = (rowTable, columnTable), K = kb.baseAddress!
                split(G) { part, groups in
                    let w = work[part]
                    // Groups in pairs for the products; each group's arithmetic is the same alone.
                    for g0 in Swift.stride(from: groups.lowerBound, to: groups.upperBound, by: 2) {
                        let pair = g0 + 1 < groups.upperBound ? [g0, g0 + 1] : [g0]
                        // Each group's spectra go straight to their place among the kept ones
                        // (or to this thread's buffers when none are kept).
                        let X = pair.enumerated().map { j, g in
                            spectra.map { $0 + g * B * I * 16 } ?? (j == 0 ? w.spectrum.0 : w.spectrum.1)
                        }
                        for (j, g) in pair.enumerated() {
                            stage(g, w.staged)
                            for c in 0..<I {
                                let src = w.staged + c * count
                                forward2D(
                                    load: { y, row in inputs.fill(row, width: W, y: y) { src[$0] } },
                                    into: UnsafeMutableRawPointer(X[j] + c * 16), binStride: I, work: w, tables: tables)
                            }
                        }
                        Self.multiply(
                            X[0], X[X.count - 1], kernel: K, bins: B, inputs: I,
                            outputs: O, into: w.product.0, w.product.1)
                        for (j, g) in pair.enumerated() {
                            let Y = j == 0 ? w.product.0 : w.product.1
                            let n0 = g * Self.lanes, used = min(Self.lanes, N - n0)
                            for o in 0..<O {
                                let b = V(repeating: bias[o]), planes = out + o * N * P + n0 * P
                                inverse2D(UnsafeRawPointer(Y + o * 16), binStride: O, work: w, tables: tables) { y, row in
                                    rows.read(row, y: y) { q, v in Self.scatter(v + b, planes + q, stride: P, count: used) }
                                }
                                for q in grid.biasOnly { Self.scatter(b, planes + q, stride: P, count: used) }
                            }
                        }
                    }
                }
            }
        }
    }

    /// p[0], p[s], …, p[7s] as lanes (lanes from `count` on zero). Constant lane indices for a
    /// full group: a lane picked by a variable index goes through memory.
    @inline(__always)
    static func gather(_ p: UnsafePointer<Float>, stride s: Int, count: Int) -> V {
        if count == 8 { return V(p[0], p[s], p[2 * s], p[3 * s], p[4 * s], p[5 * s], p[6 * s], p[7 * s]) }
        var v = V()
        for l in 0..<count { v[l] = p[l * s] }
        return v
    }

    /// p[l·s] = v[l] for the first `count` lanes.
    @inline(__always)
    static func scatter(_ v: V, _ p: UnsafeMutablePointer<Float>, stride s: Int, count: Int) {
        if count == 8 {
            p[0] = v[0]; p[s] = v[1]; p[2 * s] = v[2]; p[3 * s] = v[3]
            p[4 * s] = v[4]; p[5 * s] = v[5]; p[6 * s] = v[6]; p[7 * s] = v[7]
            return
        }
        for l in 0..<count { p[l * s] = v[l] }
    }

    /// Lane l is 1 where bit l of the index is set, else 0: a byte of eight flags as a
    /// multiplier (integer lane masks compiled to a loop through memory).
    static let bitLanes: [V] = (0..<256).map { b in V((0..<8).map { Float((b >> $0) & 1) }) }

    /// Y_g(f, o) = Σ_i K(f, o, i)·X_g(f, i) for two groups at once (X0, X1 → Y0, Y1; pass
    /// the same group twice for one), which share the kernel's broadcasts: blocks of two
    /// outputs × two groups, ten loads per sixteen FMAs. X is (f, i) · 16 floats, Y (f, o) · 16.
    /// Each group's sums run in input order, as they would alone.
    @inline(__always)
    static func multiply(
        _ X0: UnsafePointer<Float>, _ X1: UnsafePointer<Float>, kernel K: UnsafePointer<Float>, bins: Int,
        inputs I: Int, outputs O: Int, into Y0: UnsafeMutablePointer<Float>, _ Y1: UnsafeMutablePointer<Float>
    ) {
        let n = O * I
        for f in 0..<bins {
            let x0 = UnsafeRawPointer(X0 + f * I * 16), x1 = UnsafeRawPointer(X1 + f * I * 16)
            let kr = K + f * 3 * n, ki = kr + n, kn = ki + n
            let y0 = UnsafeMutableRawPointer(Y0 + f * O * 16), y1 = UnsafeMutableRawPointer(Y1 + f * O * 16)
            var o = 0
            while o < O {
                let two = o + 1 < O, e0 = o * I, e1 = two ? e0 + I : e0
                // Unchecked index arithmetic: every index is below the kernel's pair count.
                let k0 = (kr + e0, ki + e0, kn + e0), k1 = (kr + e1, ki + e1, kn + e1)
                var ar = V(), ai = V(), br = V(), bi = V(), cr = V(), ci = V(), dr = V(), di = V()
                for i in 0..<I {
                    let p0r = x0.loadUnaligned(fromByteOffset: i &* 64, as: V.self),
                        p0i = x0.loadUnaligned(fromByteOffset: i &* 64 &+ 32, as: V.self)
                    let p1r = x1.loadUnaligned(fromByteOffset: i &* 64, as: V.self),
                        p1i = x1.loadUnaligned(fromByteOffset: i &* 64 &+ 32, as: V.self)
                    let k0r = k0.0[i], k0i = k0.1[i], k0n = k0.2[i]
                    let k1r = k1.0[i], k1i = k1.1[i], k1n = k1.2[i]
                    ar.addProduct(p0r, k0r); ar.addProduct(p0i, k0n); ai.addProduct(p0i, k0r); ai.addProduct(p0r, k0i)
                    br.addProduct(p1r, k0r); br.addProduct(p1i, k0n); bi.addProduct(p1i, k0r); bi.addProduct(p1r, k0i)
                    cr.addProduct(p0r, k1r); cr.addProduct(p0i, k1n); ci.addProduct(p0i, k1r); ci.addProduct(p0r, k1i)
                    dr.addProduct(p1r, k1r); dr.addProduct(p1i, k1n); di.addProduct(p1i, k1r); di.addProduct(p1r, k1i)
                }
                y0.storeBytes(of: ar, toByteOffset: o * 64, as: V.self); y0.storeBytes(of: ai, toByteOffset: o * 64 + 32, as: V.self)
                y1.storeBytes(of: br, toByteOffset: o * 64, as: V.self); y1.storeBytes(of: bi, toByteOffset: o * 64 + 32, as: V.self)
                if two {
                    y0.storeBytes(of: cr, toByteOffset: o * 64 + 64, as: V.self);
                    y0.storeBytes(of: ci, toByteOffset: o * 64 + 96, as: V.self)
                    y1.storeBytes(of: dr, toByteOffset: o * 64 + 64, as: V.self);
                    y1.storeBytes(of: di, toByteOffset: o * 64 + 96, as: V.self)
                }
                o += 2
            }
        }
    }

    /// dX_g(f, i) = Σ_o conj K(f, o, i)·D_g(f, o) for two groups at once, as `multiply`:
    /// blocks of two inputs × two groups. D is (f, o) · 16 floats, dX (f, i) · 16.
    @inline(__always)
    static func multiplyTransposed(
        _ D0: UnsafePointer<Float>, _ D1: UnsafePointer<Float>, kernel K: UnsafePointer<Float>,
        bins: Int, inputs I: Int, outputs O: Int,
        into X0: UnsafeMutablePointer<Float>, _ X1: UnsafeMutablePointer<Float>
    ) {
        let n = O * I
        for f in 0..<bins {
            let d0 = UnsafeRawPointer(D0 + f * O * 16), d1 = UnsafeRawPointer(D1 + f * O * 16)
            let kr = K + f * 3 * n, ki = kr + n, kn = ki + n
            let x0 = UnsafeMutableRawPointer(X0 + f * I * 16), x1 = UnsafeMutableRawPointer(X1 + f * I * 16)
            var i = 0
            while i < I {
                let two = i + 1 < I, j = two ? i + 1 : i
                var ar = V(), ai = V(), br = V(), bi = V(), cr = V(), ci = V(), dr = V(), di = V()
                for o in 0..<O {
                    let q0r = d0.loadUnaligned(fromByteOffset: o &* 64, as: V.self),
                        q0i = d0.loadUnaligned(fromByteOffset: o &* 64 &+ 32, as: V.self)
                    let q1r = d1.loadUnaligned(fromByteOffset: o &* 64, as: V.self),
                        q1i = d1.loadUnaligned(fromByteOffset: o &* 64 &+ 32, as: V.self)
                    let e0 = o &* I &+ i, e1 = o &* I &+ j
                    let k0r = kr[e0], k0i = ki[e0], k0n = kn[e0], k1r = kr[e1], k1i = ki[e1], k1n = kn[e1]
                    ar.addProduct(q0r, k0r); ar.addProduct(q0i, k0i); ai.addProduct(q0i, k0r); ai.addProduct(q0r, k0n)
                    br.addProduct(q1r, k0r); br.addProduct(q1i, k0i); bi.addProduct(q1i, k0r); bi.addProduct(q1r, k0n)
                    cr.addProduct(q0r, k1r); cr.addProduct(q0i, k1i); ci.addProduct(q0i, k1r); ci.addProduct(q0r, k1n)
                    dr.addProduct(q1r, k1r); dr.addProduct(q1i, k1i); di.addProduct(q1i, k1r); di.addProduct(q1r, k1n)
                }
                x0.storeBytes(of: ar, toByteOffset: i * 64, as: V.self); x0.storeBytes(of: ai, toByteOffset: i * 64 + 32, as: V.self)
                x1.storeBytes(of: br, toByteOffset: i * 64, as: V.self); x1.storeBytes(of: bi, toByteOffset: i * 64 + 32, as: V.self)
                if two {
                    x0.storeBytes(of: cr, toByteOffset: i * 64 + 64, as: V.self);
                    x0.storeBytes(of: ci, toByteOffset: i * 64 + 96, as: V.self)
                    x1.storeBytes(of: dr, toByteOffset: i * 64 + 64, as: V.self);
                    x1.storeBytes(of: di, toByteOffset: i * 64 + 96, as: V.self)
                }
                i += 2
            }
        }
    }

    /// Backward: the weight gradient (out, in · taps), returned, and the input gradient,
    /// handed out per group lane-major as `forward` stages the input: `emit(group, staged)`,
    /// `staged[channel · grid.input.count + index]` at `grid.input`'s indices (lanes past the
    /// last image unspecified). `g` is ∂L/∂out, channel-major (o, n, pixel) on the whole map,
    /// read at the grid's output pixels only: for an input on `grid.input`, dOut elsewhere meets
    /// only zero inputs in the weight gradient and reaches no input in the input gradient.
    /// `spectra` are the input's spectra from `forward`, whose kernel spectrum `scratch` still
    /// holds.
    func backward(
        _ g: UnsafePointer<Float>, images N: Int, spectra: UnsafePointer<Float>,
        gradientSpectra: UnsafeMutablePointer<Float>, scratch: Scratch,
        emit: (Int, UnsafePointer<V>) -> Void
    ) -> [Float] {
        let I = inChannels, O = outChannels, B = bins, P = pixels, G = Self.groups(N), W = width, rows = grid.output
        let inputs = grid.input, count = inputs.count
        scratch.prepare(self)
        let work = scratch.work
        withTables { rowTable, columnTable in
            scratch.kernel.withUnsafeBufferPointer { kb in
                let tables = (rowTable, columnTable), K = kb.baseAddress!
                split(G) { part, groups in
                    let w = work[part]
                    for g0 in Swift.stride(from: groups.lowerBound, to: groups.upperBound, by: 2) {
                        let pair = g0 + 1 < groups.upperBound ? [g0, g0 + 1] : [g0]
                        let D = pair.map { grp in gradientSpectra + grp * B * O * 16 }
                        for (j, grp) in pair.enumerated() {
                            let D = D[j]
                            let n0 = grp * Self.lanes, used = min(Self.lanes, N - n0)
                            for o in 0..<O {
                                let planes = g + o * N * P + n0 * P
                                forward2D(
                                    load: { y, row in
                                        rows.fill(row, width: W, y: y) { q in Self.gather(planes + q, stride: P, count: used) }
                                    }, into: UnsafeMutableRawPointer(D + o * 16), binStride: O, work: w, tables: tables)
                            }
                        }
                        Self.multiplyTransposed(
                            D[0], D[D.count - 1], kernel: K, bins: B,
                            inputs: I, outputs: O, into: w.product.0, w.product.1)
                        for (j, grp) in pair.enumerated() {
                            let dX = j == 0 ? w.product.0 : w.product.1
                            for c in 0..<I {
                                let dst = w.staged + c * count
                                inverse2D(UnsafeRawPointer(dX + c * 16), binStride: I, work: w, tables: tables) { y, row in
                                    inputs.read(row, y: y) { h, v in dst[h] = v }
                                }
                            }
                            emit(grp, UnsafePointer(w.staged))
                        }
                    }
                }
            }
        }
        return weightGradient(spectra: spectra, gradientSpectra: gradientSpectra, groups: G, scratch: scratch)
    }

    /// dW(o, i, t) = Σ_n Σ_q dOut(o, n, q)·x(i, n, q + t)
    ///            = 1/(width·height) Σ_{half f} c_f·Re(P(f)·e^{+2πi(kx·column_t/width + ky·row_t/height)}),
    /// P(f) = Σ_n conj D_n(f, o)·X_n(f, i), c_f = 1 on the columns kx = 0 and width/2 (their
    /// mirror images are themselves) and 2 elsewhere. P is summed over groups in group order
    /// in the lanes, then over the lanes in a fixed tree; bins are split over threads, and the
    /// sum over bins runs in bin order for every weight.
    func weightGradient(
        spectra: UnsafePointer<Float>, gradientSpectra: UnsafePointer<Float>, groups G: Int,
        scratch: Scratch
    ) -> [Float] {
        let I = inChannels, O = outChannels, B = bins, T = taps.count, n = pairs
        let v = (n + 7) / 8  // pair vectors
        // P as (f, re/im, pair), the pairs padded to whole vectors.
        if scratch.products.count != B * 2 * v * 8 { scratch.products = [Float](repeating: 0, count: B * 2 * v * 8) }
        scratch.products.withUnsafeMutableBufferPointer { pb in
            let pp = pb.baseAddress!
            let x = UnsafeRawPointer(spectra), d = UnsafeRawPointer(gradientSpectra)
            split(B) { _, binRange in
                for f in binRange {
                    // Group-major spectra: this bin's values of group g are one stretch at
                    // ((g·bins + f)·C)·64 bytes.
                    let xs = x + f * I * 64, ds = d + f * O * 64
                    let pre = pp + f * 2 * v * 8, pim = pre + v * 8
                    for o in 0..<O {
                        // Three inputs at a time, all groups in order.
                        for i0 in Swift.stride(from: 0, to: I, by: 3) {
                            let used = min(3, I - i0)
                            var r0 = V(), m0 = V(), r1 = V(), m1 = V(), r2 = V(), m2 = V()
                            for grp in 0..<G {
                                let db = (grp &* B &* O &+ o) &* 64, xb = (grp &* B &* I &+ i0) &* 64
                                let dr = ds.loadUnaligned(fromByteOffset: db, as: V.self)
                                let di = ds.loadUnaligned(fromByteOffset: db &+ 32, as: V.self), nd = -di
                                @inline(__always) func mac(_ j: Int, _ r: inout V, _ m: inout V) {
                                    let xr = xs.loadUnaligned(fromByteOffset: xb &+ j &* 64, as: V.self)
                                    let xi = xs.loadUnaligned(fromByteOffset: xb &+ j &* 64 &+ 32, as: V.self)
                                    r.addProduct(dr, xr); r.addProduct(di, xi)
                                    m.addProduct(dr, xi); m.addProduct(nd, xr)
                                }
                                mac(0, &r0, &m0)
                                if used > 1 { mac(1, &r1, &m1) }
                                if used > 2 { mac(2, &r2, &m2) }
                            }
                            let e = o * I + i0
                            pre[e] = DirectConv.sum(r0); pim[e] = DirectConv.sum(m0)
                            if used > 1 { pre[e + 1] = DirectConv.sum(r1); pim[e + 1] = DirectConv.sum(m1) }
                            if used > 2 { pre[e + 2] = DirectConv.sum(r2); pim[e + 2] = DirectConv.sum(m2) }
                        }
                    }
                }
            }
        }
        // Σ over bins, eight pairs per vector: acc(t, pair) += Re P·c_f cos − Im P·c_f sin.
        let table = scratch.gradientPhases
        if scratch.taps.count != T * v * 8 { scratch.taps = [Float](repeating: 0, count: T * v * 8) }
        scratch.products.withUnsafeBufferPointer { pb in
            scratch.taps.withUnsafeMutableBufferPointer { ab in
                table.withUnsafeBufferPointer { tb in
                    let pp = UnsafeRawPointer(pb.baseAddress!), acc = UnsafeMutableRawPointer(ab.baseAddress!), tp = tb.baseAddress!
                    split(v) { _, vectors in
                        for j in vectors { for t in 0..<T { acc.storeBytes(of: V(), toByteOffset: (t * v + j) * 32, as: V.self) } }
                        for f in 0..<B {
                            let row = f * 2 * v * 32
                            for t in 0..<T {
                                let c = tp[(f * T + t) * 2], s = -tp[(f * T + t) * 2 + 1]
                                for j in vectors {
                                    var a = acc.loadUnaligned(fromByteOffset: (t * v + j) * 32, as: V.self)
                                    a.addProduct(pp.loadUnaligned(fromByteOffset: row + j * 32, as: V.self), c)
                                    a.addProduct(pp.loadUnaligned(fromByteOffset: row + (v + j) * 32, as: V.self), s)
                                    acc.storeBytes(of: a, toByteOffset: (t * v + j) * 32, as: V.self)
                                }
                            }
                        }
                    }
                }
            }
        }
        var result = [Float](repeating: 0, count: n * T)
        for pair in 0..<n { for t in 0..<T { result[pair * T + t] = scratch.taps[t * v * 8 + pair] } }
        return result
    }
}
