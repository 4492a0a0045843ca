import FlyvisRandom

/// numpy's legacy `np.random.RandomState(seed)` as far as flyvis's offset shuffling uses it:
/// the MT19937 generator with Knuth's integer seeding, and `permutation(n)`, a Fisher–Yates
/// shuffle of 0..<n from the last element down, each swap partner drawn by masked rejection
/// (`random_interval`).
struct NumpyRandomState {
    /// numpy seeds MT19937 as `MersenneTwister` does (Knuth's multiplier, state[i] from
    /// state[i − 1] and i).
    private var generator: MersenneTwister

    init(seed: UInt32) { generator = MersenneTwister(seed: seed) }

    mutating func next32() -> UInt32 { generator.next() }

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
