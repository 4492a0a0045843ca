import FlyvisBase
import Foundation

/// Complex FFTs of one length on SIMD8 vectors: eight independent transforms, one per lane,
/// so that every butterfly is plain vector arithmetic with no shuffles. Stockham autosort
/// (natural order in and out), radix 4, 3 and 2. (A radix-6 stage has fewer operations for
/// 36 = 6 × 6, but its twelve inputs did not fit the registers: the compiler split it into
/// 128-bit halves with spills, and it ran no faster.)
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
        precondition(
            Self.unrolled[size].map { $0 == stages.map { [$0.0, $0.1, $0.2, $0.3] } } ?? true,
            "LaneFFT: the unrolled \(size)-point path assumes other stages")
    }

    /// The lengths `transform` runs with constant stage sizes, and their stages (radix, m, s,
    /// twiddle offset) as `init` builds them: 36 for the square grid of the default map, 54
    /// and 18 for the rows and columns of its hexagonal grid.
    static let unrolled: [Int: [[Int]]] = [
        36: [[4, 9, 1, 0], [3, 3, 4, 54], [3, 1, 12, 66]],
        54: [[3, 18, 1, 0], [3, 6, 3, 72], [3, 2, 9, 96], [2, 1, 27, 104]],
        18: [[3, 6, 1, 0], [3, 2, 3, 24], [2, 1, 9, 32]],
    ]

    /// The forward transform (e^{−2πi·jk/n}, unnormalised) of the sequence at (inRe, inIm),
    /// elements `inStride` bytes apart, into (outRe, outIm), `outStride` bytes apart; the
    /// stages in between use `buffers` (four sequences of `size` vectors). Reading and writing
    /// in place of the callers' layouts saves a copy in and out of every transform. The
    /// inverse is this transform with re and im swapped on the way in and out.
    @inline(__always)
    func transform(
        _ inRe: UnsafeRawPointer, _ inIm: UnsafeRawPointer, inStride: Int,
        _ outRe: UnsafeMutableRawPointer, _ outIm: UnsafeMutableRawPointer, outStride: Int,
        buffers: UnsafeMutablePointer<V>, table t: UnsafePointer<Float>
    ) {
        let a = (UnsafeMutableRawPointer(buffers), UnsafeMutableRawPointer(buffers + size))
        let b = (UnsafeMutableRawPointer(buffers + 2 * size), UnsafeMutableRawPointer(buffers + 3 * size))
        // The default map's lengths (`unrolled`): their stages with the sizes as constants, so
        // that the compiler unrolls and folds them (18 % faster than the loops over `stages`
        // at 36, with the same operations; SpectralConvTests compares the two).
        let ar = UnsafeRawPointer(a.0), ai = UnsafeRawPointer(a.1), br = UnsafeRawPointer(b.0), bi = UnsafeRawPointer(b.1)
        switch size {
        case 36:
            Self.radix4(inRe, inIm, inStride, a.0, a.1, 32, m: 9, s: 1, twiddles: t)
            Self.radix3(ar, ai, 32, b.0, b.1, 32, m: 3, s: 4, twiddles: t + 54)
            Self.radix3(br, bi, 32, outRe, outIm, outStride, m: 1, s: 12, twiddles: t + 66)
        case 54:
            Self.radix3(inRe, inIm, inStride, a.0, a.1, 32, m: 18, s: 1, twiddles: t)
            Self.radix3(ar, ai, 32, b.0, b.1, 32, m: 6, s: 3, twiddles: t + 72)
            Self.radix3(br, bi, 32, a.0, a.1, 32, m: 2, s: 9, twiddles: t + 96)
            Self.radix2(ar, ai, 32, outRe, outIm, outStride, m: 1, s: 27, twiddles: t + 104)
        case 18:
            Self.radix3(inRe, inIm, inStride, a.0, a.1, 32, m: 6, s: 1, twiddles: t)
            Self.radix3(ar, ai, 32, b.0, b.1, 32, m: 2, s: 3, twiddles: t + 24)
            Self.radix2(br, bi, 32, outRe, outIm, outStride, m: 1, s: 9, twiddles: t + 32)
        default:
            transformStages(inRe, inIm, inStride: inStride, outRe, outIm, outStride: outStride, buffers: buffers, table: t)
        }
    }

    /// `transform` through the loops over `stages`, for any length.
    @inline(__always)
    func transformStages(
        _ inRe: UnsafeRawPointer, _ inIm: UnsafeRawPointer, inStride: Int,
        _ outRe: UnsafeMutableRawPointer, _ outIm: UnsafeMutableRawPointer, outStride: Int,
        buffers: UnsafeMutablePointer<V>, table t: UnsafePointer<Float>
    ) {
        let a = (UnsafeMutableRawPointer(buffers), UnsafeMutableRawPointer(buffers + size))
        let b = (UnsafeMutableRawPointer(buffers + 2 * size), UnsafeMutableRawPointer(buffers + 3 * size))
        let last = stages.count - 1
        for (index, (r, m, s, offset)) in stages.enumerated() {
            let (xr, xi, xs): (UnsafeRawPointer, UnsafeRawPointer, Int) =
                index == 0
                ? (inRe, inIm, inStride)
                : (index % 2 == 1 ? (UnsafeRawPointer(a.0), UnsafeRawPointer(a.1), 32) : (UnsafeRawPointer(b.0), UnsafeRawPointer(b.1), 32))
            let (yr, yi, ys) = index == last ? (outRe, outIm, outStride) : (index % 2 == 0 ? (a.0, a.1, 32) : (b.0, b.1, 32))
            switch r {
            case 4: Self.radix4(xr, xi, xs, yr, yi, ys, m: m, s: s, twiddles: t + offset)
            case 3: Self.radix3(xr, xi, xs, yr, yi, ys, m: m, s: s, twiddles: t + offset)
            default: Self.radix2(xr, xi, xs, yr, yi, ys, m: m, s: s, twiddles: t + offset)
            }
        }
    }

    // One Stockham stage each: inputs x[q + s·(p + j·m)], outputs y[q + s·(r·p + k)] =
    // DFT_r(inputs)_k · w^{p·k}, at byte strides xs and ys. The radix's switch stays outside
    // the loops, and the index arithmetic cannot overflow (all below the length), so it is
    // unchecked. p = 0 (no twiddles) runs apart, and a first stage (s = 1) loops over p alone:
    // a q loop of one butterfly per p spent more on its set-up than on the butterfly (the
    // transform ran 20 % faster without it).

    /// Runs a stage's butterflies `one(p, q, twiddles of p, twiddled)`: p = 0 first, without
    /// twiddles, then p ≥ 1 (`perP` twiddle floats each), over p alone when s = 1.
    @inline(__always)
    static func butterflies(
        m: Int, s: Int, twiddles: UnsafePointer<Float>, perP: Int,
        _ one: (Int, Int, UnsafePointer<Float>, Bool) -> Void
    ) {
        for q in 0..<s { one(0, q, twiddles, false) }
        if s == 1 {
            for p in 1..<max(1, m) { one(p, 0, twiddles + p &* perP, true) }
        } else {
            for p in 1..<max(1, m) { for q in 0..<s { one(p, q, twiddles + p &* perP, true) } }
        }
    }

    @inline(__always)
    static func ld(_ p: UnsafeRawPointer, _ i: Int, _ stride: Int) -> V { p.loadUnaligned(fromByteOffset: i &* stride, as: V.self) }

    @inline(__always)
    static func st(_ v: V, _ p: UnsafeMutableRawPointer, _ i: Int, _ stride: Int) {
        p.storeBytes(of: v, toByteOffset: i &* stride, as: V.self)
    }

    /// (re + i·im) · (c + i·s), stored at index i; p = 0's twiddles are 1 and skipped.
    @inline(__always)
    static func put(
        _ re: V, _ im: V, _ c: Float, _ s: Float, _ yr: UnsafeMutableRawPointer, _ yi: UnsafeMutableRawPointer,
        _ i: Int, _ stride: Int, twiddled: Bool
    ) {
        guard twiddled else { st(re, yr, i, stride); st(im, yi, i, stride); return }
        st((im * -s).addingProduct(re, c), yr, i, stride)
        st((im * c).addingProduct(re, s), yi, i, stride)
    }

    @inline(__always)
    static func radix4(
        _ xr: UnsafeRawPointer, _ xi: UnsafeRawPointer, _ xs: Int, _ yr: UnsafeMutableRawPointer,
        _ yi: UnsafeMutableRawPointer, _ ys: Int, m: Int, s: Int, twiddles: UnsafePointer<Float>
    ) {
        let step = s &* m
        @inline(__always) func one(_ p: Int, _ q: Int, _ w: UnsafePointer<Float>, _ twiddled: Bool) {
            let i0 = q &+ s &* p, o0 = q &+ s &* 4 &* p
            let a0r = ld(xr, i0, xs), a0i = ld(xi, i0, xs), a1r = ld(xr, i0 &+ step, xs), a1i = ld(xi, i0 &+ step, xs)
            let a2r = ld(xr, i0 &+ 2 &* step, xs), a2i = ld(xi, i0 &+ 2 &* step, xs)
            let a3r = ld(xr, i0 &+ 3 &* step, xs), a3i = ld(xi, i0 &+ 3 &* step, xs)
            let t0r = a0r + a2r, t0i = a0i + a2i, t1r = a0r - a2r, t1i = a0i - a2i
            let t2r = a1r + a3r, t2i = a1i + a3i, t3r = a1r - a3r, t3i = a1i - a3i
            st(t0r + t2r, yr, o0, ys); st(t0i + t2i, yi, o0, ys)
            put(t1r + t3i, t1i - t3r, w[0], w[1], yr, yi, o0 &+ s, ys, twiddled: twiddled)
            put(t0r - t2r, t0i - t2i, w[2], w[3], yr, yi, o0 &+ 2 &* s, ys, twiddled: twiddled)
            put(t1r - t3i, t1i + t3r, w[4], w[5], yr, yi, o0 &+ 3 &* s, ys, twiddled: twiddled)
        }
        butterflies(m: m, s: s, twiddles: twiddles, perP: 6, one)
    }

    @inline(__always)
    static func radix3(
        _ xr: UnsafeRawPointer, _ xi: UnsafeRawPointer, _ xs: Int, _ yr: UnsafeMutableRawPointer,
        _ yi: UnsafeMutableRawPointer, _ ys: Int, m: Int, s: Int, twiddles: UnsafePointer<Float>
    ) {
        let step = s &* m
        let h: Float = 0.866_025_403_784_438_6  // sin(2π/3)
        @inline(__always) func one(_ p: Int, _ q: Int, _ w: UnsafePointer<Float>, _ twiddled: Bool) {
            let i0 = q &+ s &* p, o0 = q &+ s &* 3 &* p
            let a0r = ld(xr, i0, xs), a0i = ld(xi, i0, xs), a1r = ld(xr, i0 &+ step, xs), a1i = ld(xi, i0 &+ step, xs)
            let a2r = ld(xr, i0 &+ 2 &* step, xs), a2i = ld(xi, i0 &+ 2 &* step, xs)
            let sr = a1r + a2r, si = a1i + a2i, dr = a1r - a2r, di = a1i - a2i
            let mr = a0r - 0.5 * sr, mi = a0i - 0.5 * si
            let nr = h * di, ni = -h * dr  // −i·sin(2π/3)·(a1 − a2)
            st(a0r + sr, yr, o0, ys); st(a0i + si, yi, o0, ys)
            put(mr + nr, mi + ni, w[0], w[1], yr, yi, o0 &+ s, ys, twiddled: twiddled)
            put(mr - nr, mi - ni, w[2], w[3], yr, yi, o0 &+ 2 &* s, ys, twiddled: twiddled)
        }
        butterflies(m: m, s: s, twiddles: twiddles, perP: 4, one)
    }

    @inline(__always)
    static func radix2(
        _ xr: UnsafeRawPointer, _ xi: UnsafeRawPointer, _ xs: Int, _ yr: UnsafeMutableRawPointer,
        _ yi: UnsafeMutableRawPointer, _ ys: Int, m: Int, s: Int, twiddles: UnsafePointer<Float>
    ) {
        let step = s &* m
        @inline(__always) func one(_ p: Int, _ q: Int, _ w: UnsafePointer<Float>, _ twiddled: Bool) {
            let i0 = q &+ s &* p, o0 = q &+ s &* 2 &* p
            let a0r = ld(xr, i0, xs), a0i = ld(xi, i0, xs), a1r = ld(xr, i0 &+ step, xs), a1i = ld(xi, i0 &+ step, xs)
            st(a0r + a1r, yr, o0, ys); st(a0i + a1i, yi, o0, ys)
            put(a0r - a1r, a0i - a1i, w[0], w[1], yr, yi, o0 &+ s, ys, twiddled: twiddled)
        }
        butterflies(m: m, s: s, twiddles: twiddles, perP: 2, one)
    }
}
