/// numpy's legacy `np.random.RandomState(seed)` as far as flyvis's offset shuffling uses it:
/// the MT19937 generator with Knuth's integer seeding, and `permutation(n)`, a Fisher–Yates
/// shuffle of 0..<n from the last element down, each swap partner drawn by masked rejection
/// (`random_interval`).
struct NumpyRandomState {
    private var state = [UInt32](repeating: 0, count: 624)
    private var position = 624

    init(seed: UInt32) {
        var s = seed
        for i in 0..<624 {
            state[i] = s
            s = 1_812_433_253 &* (s ^ (s >> 30)) &+ UInt32(i + 1)
        }
    }

    mutating func next32() -> UInt32 {
        if position >= 624 {
            for i in 0..<624 {
                let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7fff_ffff)
                state[i] = state[(i + 397) % 624] ^ (y >> 1) ^ (y & 1 == 0 ? 0 : 0x9908_b0df)
            }
            position = 0
        }
        var y = state[position]
        position += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    /// A uniform integer in 0...max (numpy's legacy `random_interval`, max below 2³²).
    mutating func interval(_ max: UInt32) -> UInt32 {
        if max == 0 { return 0 }
        var mask = max
        for shift: UInt32 in [1, 2, 4, 8, 16] { mask |= mask >> shift }
        while true {
            let value = next32() & mask
            if value <= max { return value }
        }
    }

    /// `RandomState.permutation(n)`.
    mutating func permutation(_ n: Int) -> [Int] {
        var a = Array(0..<n)
        var i = n - 1
        while i >= 1 {
            a.swapAt(i, Int(interval(UInt32(i))))
            i -= 1
        }
        return a
    }
}
