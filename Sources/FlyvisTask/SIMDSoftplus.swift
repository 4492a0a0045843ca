import Foundation

/// Eight-lane torch softplus (beta 1, threshold 20) and its derivative for the decoder's
/// activation layers and normalize_last's divisor: the scalar Foundation exp/log1p calls
/// dominated the forward. Polynomials
/// after Cephes' expf/logf (a few float ulp), well inside the reference tolerances.
enum SIMDSoftplus {
    typealias V = SIMD8<Float>

    /// One Horner step p·x + c as a fused multiply-add. Written out, the separate multiplies and
    /// adds of the polynomials were partly split into scalar lanes by the optimiser (about 40
    /// ns per vector); FMAs keep them whole vectors, and round once instead of twice.
    @inline(__always)
    static func horner(_ p: V, _ x: V, _ c: Float) -> V { V(repeating: c).addingProduct(p, x) }

    /// e^x for x ≤ 0 (lanes below −87 give about 1e-38 instead of underflowing).
    @inline(__always)
    static func expNonPositive(_ x: V) -> V {
        let x = x.replacing(with: V(repeating: -87), where: x .< -87)
        // Round to nearest by adding 1.5 · 2²³: the sum's low mantissa bits hold the integer n.
        let magic = V(repeating: 12_582_912)
        let shifted = magic.addingProduct(x, V(repeating: 1.442_695_04))
        let n = shifted - magic
        let r = x.addingProduct(n, V(repeating: -0.693_359_375)).addingProduct(n, V(repeating: 2.121_944_4e-4))
        var p = V(repeating: 1.987_569_15e-4)
        p = horner(p, r, 1.398_199_950_7e-3)
        p = horner(p, r, 8.333_451_907_3e-3)
        p = horner(p, r, 4.166_579_589_4e-2)
        p = horner(p, r, 1.666_666_545_9e-1)
        p = horner(p, r, 5.000_000_120_1e-1)
        p = (r + 1).addingProduct(p, r * r)
        let bits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        let scale = unsafeBitCast((bits &+ 127) &<< 23, to: V.self)
        return p * scale
    }

    /// log(1 + e) for e in [0, 1], accurate for tiny e: log(u) · e / (u − 1) with u = 1 + e.
    @inline(__always)
    static func log1pUnit(_ e: V) -> V {
        let u = 1 + e
        let big = u .> 1.414_213_56
        let m = u.replacing(with: u * 0.5, where: big)
        let k = V(repeating: 0).replacing(with: 1, where: big)
        let f = m - 1, z = f * f
        var y = V(repeating: 7.037_683_629_2e-2)
        y = horner(y, f, -1.151_461_031_0e-1)
        y = horner(y, f, 1.167_699_874_0e-1)
        y = horner(y, f, -1.242_014_084_6e-1)
        y = horner(y, f, 1.424_932_278_7e-1)
        y = horner(y, f, -1.666_805_766_5e-1)
        y = horner(y, f, 2.000_071_476_5e-1)
        y = horner(y, f, -2.499_999_399_3e-1)
        y = horner(y, f, 3.333_333_117_4e-1)
        y = (y * f * z).addingProduct(k, V(repeating: -2.121_944_4e-4)).addingProduct(z, V(repeating: -0.5))
        let logU = (f + y).addingProduct(k, V(repeating: 0.693_359_375))
        let d = u - 1
        return (logU * e / d).replacing(with: e, where: d .== 0)
    }

    /// softplus(x) = x above 20, else max(x, 0) + log1p(e^−|x|).
    @inline(__always)
    static func value(_ x: V) -> V {
        let negAbs = x.replacing(with: -x, where: x .> 0)
        let s = x.replacing(with: 0, where: x .< 0) + log1pUnit(expNonPositive(negAbs))
        return s.replacing(with: x, where: x .> 20)
    }

    /// The derivative σ(x): 1 above 20, else 1 / (1 + e^−x), evaluated through e^−|x|.
    @inline(__always)
    static func derivative(_ x: V) -> V {
        let e = expNonPositive(x.replacing(with: -x, where: x .> 0)), r = 1 / (1 + e)
        let s = r.replacing(with: e * r, where: x .< 0)
        return s.replacing(with: 1, where: x .> 20)
    }

    /// dst[i] ← f(p[i], q[i]) over `range`, eight at a time (q: nil reads zeros; dst may be
    /// p); the tail goes through the same lanes, so an element's result does not depend on
    /// where a range starts.
    @inline(__always)
    static func map(
        _ dst: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ q: UnsafePointer<Float>?,
        _ range: Range<Int>, _ f: (V, V) -> V
    ) {
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let w = q.map { UnsafeRawPointer($0 + i).loadUnaligned(as: V.self) } ?? V(repeating: 0)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: f(UnsafeRawPointer(p + i).loadUnaligned(as: V.self), w), as: V.self)
            i += 8
        }
        if i < range.upperBound {
            var v = V(repeating: 0), w = V(repeating: 0)
            for j in i..<range.upperBound { v[j - i] = p[j]; w[j - i] = q?[j] ?? 0 }
            let r = f(v, w)
            for j in i..<range.upperBound { dst[j] = r[j - i] }
        }
    }
}
