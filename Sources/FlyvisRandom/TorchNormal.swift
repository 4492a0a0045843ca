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

/// The 32-bit Mersenne Twister (mt19937), as torch's CPU generator and numpy's RandomState use.
package struct MersenneTwister: Sendable {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    package init(seed: UInt32) {
        state[0] = seed
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
    }

    package mutating func next() -> UInt32 {
        if index >= 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        for i in 0..<624 {
            let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7FFF_FFFF)
            state[i] = state[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908_B0DF : 0)
        }
        index = 0
    }
}
