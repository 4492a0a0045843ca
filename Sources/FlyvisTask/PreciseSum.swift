import FlyvisBase
import FlyvisHex
import FlyvisNetwork
import FlyvisRandom
import Foundation

/// Runs `body` on `parts` contiguous, fixed subranges of 0..<count (in parallel when
/// parts > 1). Only for element-wise work, so the result does not depend on `parts`.
func splitRange(_ count: Int, _ parts: Int, _ body: (Range<Int>) -> Void) {
    parallel(max(1, parts)) { k in body((count * k / parts)..<(count * (k + 1) / parts)) }
}

/// Sum accumulated in double (BatchNorm statistics over ~10⁵ values stay accurate), in eight
/// interleaved partial sums: independent addition chains instead of one dependent chain. The
/// order is fixed, so the result depends only on the values.
func preciseSum(_ v: UnsafeBufferPointer<Float>) -> Double {
    guard let p = v.baseAddress else { return 0 }
    var a = SIMD4<Double>(), b = SIMD4<Double>()
    var i = 0
    while i + 8 <= v.count {
        a += SIMD4(Double(p[i]), Double(p[i + 1]), Double(p[i + 2]), Double(p[i + 3]))
        b += SIMD4(Double(p[i + 4]), Double(p[i + 5]), Double(p[i + 6]), Double(p[i + 7]))
        i += 8
    }
    for j in i..<v.count { a[0] += Double(p[j]) }
    return (a + b).sum()
}

/// Σ (v − mean)², accumulated in double like `preciseSum`.
func preciseSquaredDeviation(_ v: UnsafeBufferPointer<Float>, _ mean: Double) -> Double {
    guard let p = v.baseAddress else { return 0 }
    var a = SIMD4<Double>(), b = SIMD4<Double>()
    let m = SIMD4<Double>(repeating: mean)
    var i = 0
    while i + 8 <= v.count {
        let d = SIMD4(Double(p[i]), Double(p[i + 1]), Double(p[i + 2]), Double(p[i + 3])) - m
        let e = SIMD4(Double(p[i + 4]), Double(p[i + 5]), Double(p[i + 6]), Double(p[i + 7])) - m
        a += d * d
        b += e * e
        i += 8
    }
    for j in i..<v.count { let d = Double(p[j]) - mean; a[0] += d * d }
    return (a + b).sum()
}
