import FlyvisNetwork
import Foundation

/// Complex FFTs of one length on SIMD8 vectors: eight independent transforms, one per lane,
/// so that every butterfly is plain vector arithmetic with no shuffles. Stockham autosort
/// (natural order in and out), radix 4, 3 and 2.
struct LaneFFT {
    typealias V = SIMD8<Float>
    let size: Int
    /// Per stage: the radix r, m = (length still to split) / r, the stride s of the
    /// subsequences, and the offset of its twiddles in `table`.
    let stages: [(radix: Int, m: Int, s: Int, twiddle: Int)]
    /// Per stage, for p < m and 1 ≤ k < r: cos and sin of −2π·p·k / (r·m).
    let table: [Float]

    /// The smallest even length ≥ n with no prime factor above 3.
    static func length(atLeast n: Int) -> Int {
        var m = max(2, n + (n & 1))
        while true {
            var k = m
            while k % 2 == 0 { k /= 2 }
            while k % 3 == 0 { k /= 3 }
            if k == 1 { return m }
            m += 2
        }
    }

    init(size: Int) {
        var radices: [Int] = [], rest = size
        while rest % 4 == 0 { radices.append(4); rest /= 4 }
        while rest % 3 == 0 { radices.append(3); rest /= 3 }
        while rest % 2 == 0 { radices.append(2); rest /= 2 }
        precondition(rest == 1 && size > 1, "LaneFFT: length \(size) has a prime factor above 3")
        self.size = size
        var stages: [(Int, Int, Int, Int)] = [], table: [Float] = []
        var n = size, s = 1
        for r in radices {
            let m = n / r
            stages.append((r, m, s, table.count))
            for p in 0..<m {
                for k in 1..<r {
                    let angle = -2 * Double.pi * Double(p * k) / Double(n)
                    table += [Float(cos(angle)), Float(sin(angle))]
                }
            }
            n = m
            s *= r
        }
        self.stages = stages
        self.table = table
    }

    /// The forward transform (e^{−2πi·jk/n}, unnormalised) of (re, im), using (workRe, workIm)
    /// as the second buffer; returns the buffers that hold the result. The inverse is this
    /// transform with re and im swapped on the way in and out.
    @inline(__always)
    func forward(_ re: UnsafeMutablePointer<V>, _ im: UnsafeMutablePointer<V>,
                 _ workRe: UnsafeMutablePointer<V>, _ workIm: UnsafeMutablePointer<V>,
                 table t: UnsafePointer<Float>) -> (UnsafeMutablePointer<V>, UnsafeMutablePointer<V>) {
        var (xr, xi, yr, yi) = (re, im, workRe, workIm)
        for (r, m, s, offset) in stages {
            switch r {
            case 4: Self.radix4(xr, xi, yr, yi, m: m, s: s, twiddles: t + offset)
            case 3: Self.radix3(xr, xi, yr, yi, m: m, s: s, twiddles: t + offset)
            default: Self.radix2(xr, xi, yr, yi, m: m, s: s, twiddles: t + offset)
            }
            swap(&xr, &yr)
            swap(&xi, &yi)
        }
        return (xr, xi)
    }

    // One Stockham stage each: inputs x[q + s·(p + j·m)], outputs y[q + s·(r·p + k)] =
    // DFT_r(inputs)_k · w^{p·k}. The radix's switch stays outside the loops, and the index
    // arithmetic cannot overflow (all below the length), so it is unchecked.

    @inline(__always)
    static func radix4(_ xr: UnsafeMutablePointer<V>, _ xi: UnsafeMutablePointer<V>, _ yr: UnsafeMutablePointer<V>,
                       _ yi: UnsafeMutablePointer<V>, m: Int, s: Int, twiddles: UnsafePointer<Float>) {
        let step = s &* m
        for p in 0..<m {
            let w = twiddles + p &* 6
            let c1 = w[0], s1 = w[1], c2 = w[2], s2 = w[3], c3 = w[4], s3 = w[5]
            for q in 0..<s {
                let i0 = q &+ s &* p, o0 = q &+ s &* 4 &* p
                let a0r = xr[i0], a0i = xi[i0], a1r = xr[i0 &+ step], a1i = xi[i0 &+ step]
                let a2r = xr[i0 &+ 2 &* step], a2i = xi[i0 &+ 2 &* step], a3r = xr[i0 &+ 3 &* step], a3i = xi[i0 &+ 3 &* step]
                let t0r = a0r + a2r, t0i = a0i + a2i, t1r = a0r - a2r, t1i = a0i - a2i
                let t2r = a1r + a3r, t2i = a1i + a3i, t3r = a1r - a3r, t3i = a1i - a3i
                yr[o0] = t0r + t2r; yi[o0] = t0i + t2i
                put(t1r + t3i, t1i - t3r, c1, s1, yr + (o0 &+ s), yi + (o0 &+ s))
                put(t0r - t2r, t0i - t2i, c2, s2, yr + (o0 &+ 2 &* s), yi + (o0 &+ 2 &* s))
                put(t1r - t3i, t1i + t3r, c3, s3, yr + (o0 &+ 3 &* s), yi + (o0 &+ 3 &* s))
            }
        }
    }

    @inline(__always)
    static func radix3(_ xr: UnsafeMutablePointer<V>, _ xi: UnsafeMutablePointer<V>, _ yr: UnsafeMutablePointer<V>,
                       _ yi: UnsafeMutablePointer<V>, m: Int, s: Int, twiddles: UnsafePointer<Float>) {
        let step = s &* m
        let h: Float = 0.866_025_403_784_438_6   // sin(2π/3)
        for p in 0..<m {
            let w = twiddles + p &* 4
            let c1 = w[0], s1 = w[1], c2 = w[2], s2 = w[3]
            for q in 0..<s {
                let i0 = q &+ s &* p, o0 = q &+ s &* 3 &* p
                let a0r = xr[i0], a0i = xi[i0], a1r = xr[i0 &+ step], a1i = xi[i0 &+ step]
                let a2r = xr[i0 &+ 2 &* step], a2i = xi[i0 &+ 2 &* step]
                let sr = a1r + a2r, si = a1i + a2i, dr = a1r - a2r, di = a1i - a2i
                let mr = a0r - 0.5 * sr, mi = a0i - 0.5 * si
                let nr = h * di, ni = -h * dr              // −i·sin(2π/3)·(a1 − a2)
                yr[o0] = a0r + sr; yi[o0] = a0i + si
                put(mr + nr, mi + ni, c1, s1, yr + (o0 &+ s), yi + (o0 &+ s))
                put(mr - nr, mi - ni, c2, s2, yr + (o0 &+ 2 &* s), yi + (o0 &+ 2 &* s))
            }
        }
    }

    @inline(__always)
    static func radix2(_ xr: UnsafeMutablePointer<V>, _ xi: UnsafeMutablePointer<V>, _ yr: UnsafeMutablePointer<V>,
                       _ yi: UnsafeMutablePointer<V>, m: Int, s: Int, twiddles: UnsafePointer<Float>) {
        let step = s &* m
        for p in 0..<m {
            let c1 = twiddles[p &* 2], s1 = twiddles[p &* 2 &+ 1]
            for q in 0..<s {
                let i0 = q &+ s &* p, o0 = q &+ s &* 2 &* p
                let a0r = xr[i0], a0i = xi[i0], a1r = xr[i0 &+ step], a1i = xi[i0 &+ step]
                yr[o0] = a0r + a1r; yi[o0] = a0i + a1i
                put(a0r - a1r, a0i - a1i, c1, s1, yr + (o0 &+ s), yi + (o0 &+ s))
            }
        }
    }

    /// (re + i·im) · (c + i·s), stored.
    @inline(__always)
    static func put(_ re: V, _ im: V, _ c: Float, _ s: Float, _ dr: UnsafeMutablePointer<V>, _ di: UnsafeMutablePointer<V>) {
        dr.pointee = re * c - im * s
        di.pointee = re * s + im * c
    }
}

/// The decoder's first convolution computed by FFT, with eight images per SIMD vector.
///
/// Why: the first layer (34 → 8 channels, 19 taps by default) is nine tenths of the decoder's
/// arithmetic, and its direct kernels were already at ~90 % of the FMA peak on the lanes they
/// computed. In the frequency domain each (output, input) channel pair costs one complex
/// multiply-add per bin (36 × 19 bins for the 31 × 31 map) instead of 19 multiply-adds per
/// pixel (961), and the transforms are shared by all pairs: about a quarter of the arithmetic.
/// Carrying images in the lanes leaves no partially used vectors on the hexagon's rows.
///
/// The transform length L is the smallest even 2ᵃ3ᵇ ≥ side + 2·pad, so that the circular
/// convolution equals the zero-padded one on the map: every tap that leaves the map lands on
/// zeros. Results agree with the direct sums to float32 rounding (about 1e-6 of the largest
/// value), not bit for bit.
///
/// Layouts (floats). Spatial lanes: value (image g·8 + l, channel c, pixel q) at
/// ((g·C + c)·P + q)·8 + l. Spectra: bin f = kx·L + ky (kx ≤ L/2, the real input's half
/// spectrum), value (group g, bin f, channel c) at ((g·bins + f)·C + c)·16, real parts in
/// the first eight floats, imaginary in the next eight. (Bin-major over groups, as the weight
/// gradient reads them, made the transforms' stores 40 KB apart over 30 MB: a TLB miss per
/// store, which cost more than the weight gradient's strided reads save.)
///
/// Determinism: every group of eight images is transformed by one thread in a fixed order,
/// and the weight gradient sums groups in group order per bin, with bins split over threads,
/// so the results do not depend on the thread count.
struct SpectralConv {
    typealias V = SIMD8<Float>
    static let lanes = 8
    let inChannels: Int, outChannels: Int
    let taps: [(dy: Int, dx: Int)]
    let side: Int
    let fft: LaneFFT
    var threads = 1

    init(inChannels: Int, outChannels: Int, taps: [(dy: Int, dx: Int)], side: Int, pad: Int, threads: Int = 1) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.taps = taps
        self.side = side
        fft = LaneFFT(size: LaneFFT.length(atLeast: side + 2 * pad))
        self.threads = max(1, threads)
    }

    var size: Int { fft.size }
    var half: Int { fft.size / 2 + 1 }
    var bins: Int { fft.size * half }
    var pixels: Int { side * side }
    var pairs: Int { inChannels * outChannels }
    static func groups(_ images: Int) -> Int { (images + lanes - 1) / lanes }

    func spatialCount(images: Int, channels: Int) -> Int { Self.groups(images) * channels * pixels * Self.lanes }
    func spectrumCount(images: Int, channels: Int) -> Int { Self.groups(images) * bins * channels * 16 }

    /// Index of (group g, channel c, pixel 0, lane 0) in a spatial-lanes buffer.
    func spatialOrigin(group g: Int, channel c: Int, channels: Int) -> Int { (g * channels + c) * pixels * Self.lanes }

    /// Runs `body(part, range)` on `threads` fixed, contiguous parts of 0..<count.
    private func split(_ count: Int, _ body: (Int, Range<Int>) -> Void) {
        let parts = threads
        parallel(parts) { k in body(k, (count * k / parts)..<(count * (k + 1) / parts)) }
    }

    /// cos and sin of 2π(ky·dy + kx·dx)/L per bin and tap, times `scale(kx)`: (f · T + t) · 2.
    func phases(scale: (Int) -> Double) -> [Float] {
        let L = size, T = taps.count
        var table = [Float](repeating: 0, count: bins * T * 2)
        for kx in 0..<half {
            for ky in 0..<L {
                for (t, tap) in taps.enumerated() {
                    let k = ((ky * tap.dy + kx * tap.dx) % L + L) % L
                    let angle = 2 * Double.pi * Double(k) / Double(L)
                    table[((kx * L + ky) * T + t) * 2] = Float(scale(kx) * cos(angle))
                    table[((kx * L + ky) * T + t) * 2 + 1] = Float(scale(kx) * sin(angle))
                }
            }
        }
        return table
    }

    /// Per-thread buffers, kept by the caller between calls (fresh megabytes would be
    /// page-faulted in on every call): two 1-D sequences, the row pass's half spectrum
    /// (half × side), one map of lanes and one group's spectral products.
    final class Work {
        let re: UnsafeMutablePointer<V>, im: UnsafeMutablePointer<V>
        let workRe: UnsafeMutablePointer<V>, workIm: UnsafeMutablePointer<V>
        let tRe: UnsafeMutablePointer<V>, tIm: UnsafeMutablePointer<V>
        let image: UnsafeMutablePointer<Float>, product: UnsafeMutablePointer<Float>
        let vectors: Int, floats: Int
        init(_ conv: SpectralConv) {
            let L = conv.size, H = conv.half, S = conv.side
            vectors = 4 * L + 2 * H * S
            let all = UnsafeMutablePointer<V>.allocate(capacity: vectors)
            all.initialize(repeating: V(), count: vectors)
            re = all; im = all + L; workRe = all + 2 * L; workIm = all + 3 * L
            tRe = all + 4 * L; tIm = tRe + H * S
            let imageFloats = conv.pixels * SpectralConv.lanes
            floats = imageFloats + conv.bins * max(conv.inChannels, conv.outChannels) * 16
            image = .allocate(capacity: floats)
            image.initialize(repeating: 0, count: floats)
            product = image + imageFloats
        }
        deinit { re.deinitialize(count: vectors); re.deallocate(); image.deallocate() }
    }

    /// One `Work` per thread and the phase tables, kept while the shape stays the same.
    final class Scratch {
        private(set) var work: [Work] = []
        /// `phases` for the kernel spectrum (scaled by 1/L²) and for the weight gradient
        /// (scaled by c_f/L²).
        private(set) var kernelPhases: [Float] = [], gradientPhases: [Float] = []
        private var key: [Int] = []
        /// The kernel spectrum (K) of the last forward, for the backward.
        var kernel: [Float] = []
        /// The weight gradient's products per bin and its accumulators.
        var products: [Float] = [], taps: [Float] = []
        func prepare(_ conv: SpectralConv) {
            let k = [conv.threads, conv.size, conv.side, conv.inChannels, conv.outChannels]
                + conv.taps.flatMap { [$0.dy, $0.dx] }
            guard k != key else { return }
            work = (0..<conv.threads).map { _ in Work(conv) }
            let L = conv.size
            kernelPhases = conv.phases { _ in 1 / Double(L * L) }
            gradientPhases = conv.phases { kx in (kx == 0 || 2 * kx == L ? 1.0 : 2.0) / Double(L * L) }
            key = k
        }
        package init() {}
    }

    // MARK: Kernel spectrum

    /// K(f) = Σ_t w(o, i, t)·e^{+2πi(ky·dy + kx·dx)/L} / L² per bin, as three planes of the
    /// (o, i) pairs — Re, Im, −Im — so that the products need only broadcasts: entry
    /// (f · 3 + plane) · pairs + o · I + i. The 1/L² of the inverse transform is folded in.
    func kernelSpectrum(_ weights: [Float], into out: inout [Float], phases table: [Float]) {
        let T = taps.count, n = pairs
        if out.count != bins * 3 * n { out = [Float](repeating: 0, count: bins * 3 * n) }
        // Weights as (tap, pair) so that a tap's weights are contiguous.
        var wt = [Float](repeating: 0, count: T * n)
        for pair in 0..<n { for t in 0..<T { wt[t * n + pair] = weights[pair * T + t] } }
        out.withUnsafeMutableBufferPointer { ob in wt.withUnsafeBufferPointer { wb in table.withUnsafeBufferPointer { tb in
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
        } } }
    }

    // MARK: 2-D transforms of one channel

    /// The half spectrum of one real channel (spatial lanes at `src`, zero off the map) into
    /// `dst`, bins `binStride` channels (16 floats each) apart (real parts at +0, imaginary at
    /// +8). Rows in pairs as one complex transform, split by symmetry; then one complex
    /// transform per column.
    func forward2D(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, binStride: Int, work: Work,
                   table: UnsafePointer<Float>) {
        let L = size, H = half, S = side
        let re = work.re, im = work.im, tRe = work.tRe, tIm = work.tIm
        let rows = UnsafeRawPointer(src)
        @inline(__always) func pixel(_ y: Int, _ x: Int) -> V { rows.loadUnaligned(fromByteOffset: (y * S + x) * 32, as: V.self) }
        for y0 in Swift.stride(from: 0, to: S, by: 2) {
            let y1 = y0 + 1
            // The transform uses both buffers, so the zeros past the map are written each time.
            for x in S..<L { re[x] = V(); im[x] = V() }
            if y1 < S {
                for x in 0..<S { re[x] = pixel(y0, x); im[x] = pixel(y1, x) }
            } else {
                for x in 0..<S { re[x] = pixel(y0, x); im[x] = V() }
            }
            let (zr, zi) = fft.forward(re, im, work.workRe, work.workIm, table: table)
            for k in 0..<H {
                let c = (L - k) % L
                let ar = 0.5 * (zr[k] + zr[c]), ai = 0.5 * (zi[k] - zi[c])
                tRe[k * S + y0] = ar; tIm[k * S + y0] = ai
                if y1 < S {
                    tRe[k * S + y1] = 0.5 * (zi[k] + zi[c]); tIm[k * S + y1] = 0.5 * (zr[c] - zr[k])
                }
            }
        }
        let out = UnsafeMutableRawPointer(dst)
        for k in 0..<H {
            for y in 0..<S { re[y] = tRe[k * S + y]; im[y] = tIm[k * S + y] }
            for y in S..<L { re[y] = V(); im[y] = V() }
            let (zr, zi) = fft.forward(re, im, work.workRe, work.workIm, table: table)
            for ky in 0..<L {
                let b = (k * L + ky) * binStride * 64
                out.storeBytes(of: zr[ky], toByteOffset: b, as: V.self)
                out.storeBytes(of: zi[ky], toByteOffset: b + 32, as: V.self)
            }
        }
    }

    /// The inverse of `forward2D` (unnormalised: L² times the real channel) from a half
    /// spectrum at `src`, written as spatial lanes at `dst` for the map's pixels only.
    func inverse2D(_ src: UnsafePointer<Float>, binStride: Int, into dst: UnsafeMutablePointer<Float>, work: Work,
                   table: UnsafePointer<Float>) {
        let L = size, H = half, S = side
        let re = work.re, im = work.im, tRe = work.tRe, tIm = work.tIm
        let spectrum = UnsafeRawPointer(src)
        // Columns: the inverse is the forward transform with re and im swapped.
        for k in 0..<H {
            for ky in 0..<L {
                let b = (k * L + ky) * binStride * 64
                im[ky] = spectrum.loadUnaligned(fromByteOffset: b, as: V.self)
                re[ky] = spectrum.loadUnaligned(fromByteOffset: b + 32, as: V.self)
            }
            let (zi, zr) = fft.forward(re, im, work.workRe, work.workIm, table: table)
            for y in 0..<S { tRe[k * S + y] = zr[y]; tIm[k * S + y] = zi[y] }
        }
        let out = UnsafeMutableRawPointer(dst)
        for y0 in Swift.stride(from: 0, to: S, by: 2) {
            let y1 = y0 + 1, pair = y1 < S
            // Z = A + i·B over the whole row, A and B extended by Hermitian symmetry; the
            // imaginary parts at k = 0 and L/2 are dropped (zero for a real row).
            for k in 0..<L {
                let kk = k < H ? k : L - k, sign: Float = k < H ? 1 : -1
                let real = kk == 0 || 2 * kk == L
                let ar = tRe[kk * S + y0], ai = real ? V() : sign * tIm[kk * S + y0]
                let br = pair ? tRe[kk * S + y1] : V(), bi = pair && !real ? sign * tIm[kk * S + y1] : V()
                im[k] = ar - bi       // swapped in for the inverse
                re[k] = ai + br
            }
            let (zi, zr) = fft.forward(re, im, work.workRe, work.workIm, table: table)
            for x in 0..<S {
                out.storeBytes(of: zr[x], toByteOffset: (y0 * S + x) * 32, as: V.self)
                if pair { out.storeBytes(of: zi[x], toByteOffset: (y1 * S + x) * 32, as: V.self) }
            }
        }
    }

    // MARK: Layer passes

    /// out(o) = bias(o) + Σ_{i,t} w(o, i, t)·x(i, shifted by t) on the whole map, channel-major
    /// (o, n, pixel) as DirectConv writes it. `x` is spatial lanes (images rounded up to whole
    /// groups, the extra lanes zero); its spectra are kept in `spectra` (`spectrumCount`) for
    /// the weight gradient, and the kernel spectrum in `scratch`.
    func forward(_ x: UnsafePointer<Float>, images N: Int, weights: [Float], bias: [Float],
                 spectra: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, scratch: Scratch) {
        let I = inChannels, O = outChannels, B = bins, P = pixels, G = Self.groups(N)
        scratch.prepare(self)
        kernelSpectrum(weights, into: &scratch.kernel, phases: scratch.kernelPhases)
        let work = scratch.work
        fft.table.withUnsafeBufferPointer { tb in scratch.kernel.withUnsafeBufferPointer { kb in
            let table = tb.baseAddress!, K = kb.baseAddress!
            split(G) { part, groups in
                let w = work[part]
                for g in groups {
                    let X = spectra + g * B * I * 16
                    for c in 0..<I {
                        forward2D(x + spatialOrigin(group: g, channel: c, channels: I), into: X + c * 16, binStride: I,
                                  work: w, table: table)
                    }
                    Self.multiply(X, binStride: I, kernel: K, bins: B, inputs: I, outputs: O, into: w.product)
                    for o in 0..<O {
                        inverse2D(w.product + o * 16, binStride: O, into: w.image, work: w, table: table)
                        Self.scatter(w.image, add: V(repeating: bias[o]), images: g * Self.lanes..<min(N, (g + 1) * Self.lanes),
                                     to: out + o * N * P, pixels: P)
                    }
                }
            }
        } }
    }

    /// Y(f, o) = Σ_i K(f, o, i)·X(f, i) for one group, four outputs at a time; Y is
    /// (f, o) · 16 floats.
    @inline(__always)
    static func multiply(_ X: UnsafePointer<Float>, binStride: Int, kernel K: UnsafePointer<Float>, bins: Int, inputs I: Int,
                         outputs O: Int, into Y: UnsafeMutablePointer<Float>) {
        let x = UnsafeRawPointer(X), y = UnsafeMutableRawPointer(Y), n = O * I
        for f in 0..<bins {
            let xs = x + f * binStride * 64, kr = K + f * 3 * n, ki = kr + n, kn = ki + n
            for o0 in Swift.stride(from: 0, to: O, by: 4) {
                let used = min(4, O - o0)
                var r0 = V(), i0 = V(), r1 = V(), i1 = V(), r2 = V(), i2 = V(), r3 = V(), i3 = V()
                for i in 0..<I {
                    let xr = xs.loadUnaligned(fromByteOffset: i * 64, as: V.self)
                    let xi = xs.loadUnaligned(fromByteOffset: i * 64 + 32, as: V.self)
                    @inline(__always) func mac(_ o: Int, _ r: inout V, _ m: inout V) {
                        let e = (o0 + o) * I + i
                        r.addProduct(xr, kr[e]); r.addProduct(xi, kn[e])
                        m.addProduct(xi, kr[e]); m.addProduct(xr, ki[e])
                    }
                    mac(0, &r0, &i0)
                    if used > 1 { mac(1, &r1, &i1) }
                    if used > 2 { mac(2, &r2, &i2) }
                    if used > 3 { mac(3, &r3, &i3) }
                }
                let base = (f * O + o0) * 64
                y.storeBytes(of: r0, toByteOffset: base, as: V.self); y.storeBytes(of: i0, toByteOffset: base + 32, as: V.self)
                if used > 1 { y.storeBytes(of: r1, toByteOffset: base + 64, as: V.self); y.storeBytes(of: i1, toByteOffset: base + 96, as: V.self) }
                if used > 2 { y.storeBytes(of: r2, toByteOffset: base + 128, as: V.self); y.storeBytes(of: i2, toByteOffset: base + 160, as: V.self) }
                if used > 3 { y.storeBytes(of: r3, toByteOffset: base + 192, as: V.self); y.storeBytes(of: i3, toByteOffset: base + 224, as: V.self) }
            }
        }
    }

    /// dX(f, i) = Σ_o conj K(f, o, i)·D(f, o) for one group, four inputs at a time; dX is
    /// (f, i) · 16 floats.
    @inline(__always)
    static func multiplyTransposed(_ D: UnsafePointer<Float>, binStride: Int, kernel K: UnsafePointer<Float>, bins: Int,
                                   inputs I: Int, outputs O: Int, into dX: UnsafeMutablePointer<Float>) {
        let d = UnsafeRawPointer(D), y = UnsafeMutableRawPointer(dX), n = O * I
        for f in 0..<bins {
            let ds = d + f * binStride * 64, kr = K + f * 3 * n, ki = kr + n, kn = ki + n
            for i0 in Swift.stride(from: 0, to: I, by: 4) {
                let used = min(4, I - i0)
                var r0 = V(), m0 = V(), r1 = V(), m1 = V(), r2 = V(), m2 = V(), r3 = V(), m3 = V()
                for o in 0..<O {
                    let dr = ds.loadUnaligned(fromByteOffset: o * 64, as: V.self)
                    let di = ds.loadUnaligned(fromByteOffset: o * 64 + 32, as: V.self)
                    let row = o * I + i0
                    @inline(__always) func mac(_ i: Int, _ r: inout V, _ m: inout V) {
                        let e = row + i
                        r.addProduct(dr, kr[e]); r.addProduct(di, ki[e])
                        m.addProduct(di, kr[e]); m.addProduct(dr, kn[e])
                    }
                    mac(0, &r0, &m0)
                    if used > 1 { mac(1, &r1, &m1) }
                    if used > 2 { mac(2, &r2, &m2) }
                    if used > 3 { mac(3, &r3, &m3) }
                }
                let base = (f * I + i0) * 64
                y.storeBytes(of: r0, toByteOffset: base, as: V.self); y.storeBytes(of: m0, toByteOffset: base + 32, as: V.self)
                if used > 1 { y.storeBytes(of: r1, toByteOffset: base + 64, as: V.self); y.storeBytes(of: m1, toByteOffset: base + 96, as: V.self) }
                if used > 2 { y.storeBytes(of: r2, toByteOffset: base + 128, as: V.self); y.storeBytes(of: m2, toByteOffset: base + 160, as: V.self) }
                if used > 3 { y.storeBytes(of: r3, toByteOffset: base + 192, as: V.self); y.storeBytes(of: m3, toByteOffset: base + 224, as: V.self) }
            }
        }
    }

    /// Spatial lanes + `add` to channel-major planes: lane l goes to image images.lowerBound + l.
    @inline(__always)
    static func scatter(_ src: UnsafePointer<Float>, add: V, images: Range<Int>, to dst: UnsafeMutablePointer<Float>, pixels P: Int) {
        let s = UnsafeRawPointer(src)
        for q in 0..<P {
            let v = s.loadUnaligned(fromByteOffset: q * 32, as: V.self) + add
            for l in 0..<images.count { dst[(images.lowerBound + l) * P + q] = v[l] }
        }
    }

    /// Channel-major planes to spatial lanes (lanes past `images` get zeros).
    @inline(__always)
    static func gather(_ src: UnsafePointer<Float>, images: Range<Int>, pixels P: Int, to dst: UnsafeMutablePointer<Float>) {
        let d = UnsafeMutableRawPointer(dst)
        for q in 0..<P {
            var v = V()
            for l in 0..<images.count { v[l] = src[(images.lowerBound + l) * P + q] }
            d.storeBytes(of: v, toByteOffset: q * 32, as: V.self)
        }
    }

    /// Backward: the weight gradient (out, in · taps), returned, and the input gradient, handed
    /// per group and input channel as spatial lanes to `emit(group, channel, lanes)`.
    /// `g` is ∂L/∂out, channel-major (o, n, pixel) on the whole map; `spectra` are the input's
    /// spectra from `forward`, whose kernel spectrum `scratch` still holds.
    func backward(_ g: UnsafePointer<Float>, images N: Int, spectra: UnsafePointer<Float>,
                  gradientSpectra: UnsafeMutablePointer<Float>, scratch: Scratch,
                  emit: (Int, Int, UnsafePointer<Float>) -> Void) -> [Float] {
        let I = inChannels, O = outChannels, B = bins, P = pixels, G = Self.groups(N)
        scratch.prepare(self)
        let work = scratch.work
        fft.table.withUnsafeBufferPointer { tb in scratch.kernel.withUnsafeBufferPointer { kb in
            let table = tb.baseAddress!, K = kb.baseAddress!
            split(G) { part, groups in
                let w = work[part]
                for grp in groups {
                    let D = gradientSpectra + grp * B * O * 16
                    let range = grp * Self.lanes..<min(N, (grp + 1) * Self.lanes)
                    for o in 0..<O {
                        Self.gather(g + o * N * P, images: range, pixels: P, to: w.image)
                        forward2D(w.image, into: D + o * 16, binStride: O, work: w, table: table)
                    }
                    Self.multiplyTransposed(D, binStride: O, kernel: K, bins: B, inputs: I, outputs: O, into: w.product)
                    for c in 0..<I {
                        inverse2D(w.product + c * 16, binStride: I, into: w.image, work: w, table: table)
                        emit(grp, c, w.image)
                    }
                }
            }
        } }
        return weightGradient(spectra: spectra, gradientSpectra: gradientSpectra, groups: G, scratch: scratch)
    }

    /// dW(o, i, t) = Σ_n Σ_q dOut(o, n, q)·x(i, n, q + t)
    ///            = (1/L²) Σ_{half f} c_f·Re(P(f)·e^{+2πi(ky·dy + kx·dx)/L}),
    /// P(f) = Σ_n conj D_n(f, o)·X_n(f, i), c_f = 1 on the columns kx = 0 and L/2 (their
    /// mirror images are themselves) and 2 elsewhere. P is summed over groups in group order
    /// in the lanes, then over the lanes in a fixed tree; bins are split over threads, and the
    /// sum over bins runs in bin order for every weight.
    func weightGradient(spectra: UnsafePointer<Float>, gradientSpectra: UnsafePointer<Float>, groups G: Int,
                        scratch: Scratch) -> [Float] {
        let I = inChannels, O = outChannels, B = bins, T = taps.count, n = pairs
        let v = (n + 7) / 8       // pair vectors
        // P as (f, re/im, pair), the pairs padded to whole vectors.
        if scratch.products.count != B * 2 * v * 8 { scratch.products = [Float](repeating: 0, count: B * 2 * v * 8) }
        scratch.products.withUnsafeMutableBufferPointer { pb in
            let pp = pb.baseAddress!
            let x = UnsafeRawPointer(spectra), d = UnsafeRawPointer(gradientSpectra)
            split(B) { _, binRange in
                for f in binRange {
                    let xs = x + f * I * 64, ds = d + f * O * 64
                    let pre = pp + f * 2 * v * 8, pim = pre + v * 8
                    for o in 0..<O {
                        // Three inputs at a time, all groups in order.
                        for i0 in Swift.stride(from: 0, to: I, by: 3) {
                            let used = min(3, I - i0)
                            var r0 = V(), m0 = V(), r1 = V(), m1 = V(), r2 = V(), m2 = V()
                            for grp in 0..<G {
                                let db = (grp * B * O + o) * 64, xb = (grp * B * I + i0) * 64
                                let dr = ds.loadUnaligned(fromByteOffset: db, as: V.self)
                                let di = ds.loadUnaligned(fromByteOffset: db + 32, as: V.self), nd = -di
                                @inline(__always) func mac(_ j: Int, _ r: inout V, _ m: inout V) {
                                    let xr = xs.loadUnaligned(fromByteOffset: xb + j * 64, as: V.self)
                                    let xi = xs.loadUnaligned(fromByteOffset: xb + j * 64 + 32, as: V.self)
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
        scratch.products.withUnsafeBufferPointer { pb in scratch.taps.withUnsafeMutableBufferPointer { ab in
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
        } } }
        var result = [Float](repeating: 0, count: n * T)
        for pair in 0..<n { for t in 0..<T { result[pair * T + t] = scratch.taps[t * v * 8 + pair] } }
        return result
    }
}
