import Foundation

/// The machine's single-thread FMA peak: a register-only loop of 8-wide fused multiply-adds
/// (twelve independent chains, enough to cover the FMA latency on two pipes), best of five
/// runs of about 40 ms, in GFLOP/s (2 FLOPs per lane per FMA). The vector width is the one the
/// kernels are compiled for (SIMD8: AVX2 at the default target CPU). It lives here, not in the
/// CLI, because this module is compiled for the target CPU (FMA instructions).
package enum FMAPeak {
    package static func measure() -> Double {
        var best = 0.0
        for _ in 0..<5 {
            let iterations = 4_000_000
            let t0 = DispatchTime.now().uptimeNanoseconds
            let sink = run(iterations, seed: Float(best))
            let t1 = DispatchTime.now().uptimeNanoseconds
            if sink == .infinity { print("") }  // keeps the loop's result live
            best = max(best, Double(iterations) * 12 * 8 * 2 / Double(t1 - t0))
        }
        return best
    }

    @inline(never)
    package static func run(_ iterations: Int, seed: Float) -> Float {
        typealias V = SIMD8<Float>
        let m = V(repeating: 0.999_999 + seed * 1e-12), x = V(repeating: 1e-9)
        var a0 = V(repeating: 1), a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3, a4 = a0 + 4, a5 = a0 + 5
        var a6 = a0 + 6, a7 = a0 + 7, a8 = a0 + 8, a9 = a0 + 9, a10 = a0 + 10, a11 = a0 + 11
        for _ in 0..<iterations {
            a0.addProduct(x, m); a1.addProduct(x, m); a2.addProduct(x, m); a3.addProduct(x, m)
            a4.addProduct(x, m); a5.addProduct(x, m); a6.addProduct(x, m); a7.addProduct(x, m)
            a8.addProduct(x, m); a9.addProduct(x, m); a10.addProduct(x, m); a11.addProduct(x, m)
        }
        return (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11).sum()
    }
}
