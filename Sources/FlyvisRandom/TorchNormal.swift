import Foundation

/// torch's CPU `normal_` draw (mt19937, 24-bit uniforms, Box–Muller on blocks of 16 with the
/// tail block redrawn), emulated in double precision. Matches torch to about one float32 ulp.
package enum TorchNormal {
    package static func sample(count n: Int, mean: Double, std: Double, seed: Int) -> [Float] {
        var mt = MersenneTwister(seed: UInt32(truncatingIfNeeded: seed))
        var d = (0..<n).map { _ in Double(mt.next() & 0xFFFFFF) * 0x1p-24 }
        func transform16(_ start: Int) {
            for j in 0..<8 {
                let u1 = 1 - d[start + j], u2 = d[start + j + 8]
                let radius = (-2 * Foundation.log(u1)).squareRoot()
                let theta = 2 * Double.pi * u2
                d[start + j] = radius * Foundation.cos(theta)
                d[start + j + 8] = radius * Foundation.sin(theta)
            }
        }
        if n >= 16 {
            for start in stride(from: 0, to: n - 15, by: 16) { transform16(start) }
            if n % 16 != 0 {
                for i in (n - 16)..<n { d[i] = Double(mt.next() & 0xFFFFFF) * 0x1p-24 }
                transform16(n - 16)
            }
        } else {
            // Fewer than 16 values: a plain scalar Box–Muller (seeded and reproducible, but not
            // torch's exact stream for such small tensors).
            var out: [Double] = []
            while out.count < n {
                let u1 = Double(mt.next() & 0xFFFFFF) * 0x1p-24, u2 = Double(mt.next() & 0xFFFFFF) * 0x1p-24
                let radius = (-2 * Foundation.log(1 - u2)).squareRoot()
                out.append(radius * Foundation.cos(2 * Double.pi * u1))
            }
            d = out
        }
        return d.map { Float(Float($0) * Float(std) + Float(mean)) }
    }
}
