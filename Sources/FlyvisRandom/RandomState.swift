import Foundation

/// A seeded generator with a saveable state (xoshiro256**), for dropout masks and data order.
package struct RandomState: Sendable, Equatable, RandomNumberGenerator {
    package var s: (UInt64, UInt64, UInt64, UInt64)

    package init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= splitmix64Increment
            return splitmix64(x)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    package init(state: [UInt64]) {
        precondition(state.count == 4)
        s = (state[0], state[1], state[2], state[3])
    }

    package var state: [UInt64] { [s.0, s.1, s.2, s.3] }

    package static func == (a: RandomState, b: RandomState) -> Bool { a.state == b.state }

    @inlinable package mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// Dropout's Bernoulli mask: `value` where the draw's top 24 bits are below `threshold`,
    /// 0 elsewhere, one draw per element in order. The loop lives here so that the generator
    /// state stays in registers: called per element from another module, `next()` was not
    /// inlined and its state went through memory at every draw. The select is done on the bits
    /// (all ones or zero, ANDed with `value`): as a branch on a coin flip it was mispredicted
    /// half the time, about three times the cost of the draw.
    package mutating func bernoulliMask(_ mask: UnsafeMutableBufferPointer<Float>, below threshold: UInt64, value: Float) {
        var rng = self
        let bits = value.bitPattern
        for i in mask.indices {
            let keep = UInt32(truncatingIfNeeded: ((rng.next() >> 40) &- threshold) >> 63)  // 1 below threshold
            mask[i] = Float(bitPattern: bits & (0 &- keep))
        }
        self = rng
    }

    /// Uniform in [0, 1) with 24 random bits (float precision).
    @inlinable package mutating func uniformFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [0, 1) with 53 random bits.
    @inlinable package mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Standard normal (Box–Muller).
    package mutating func normal() -> Double {
        let u1 = 1 - uniform(), u2 = uniform()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }
}
