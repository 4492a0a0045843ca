/// splitmix64's output function (Steele, Lea and Flood 2014): a fast bijective mixer that turns
/// consecutive or structured 64-bit inputs into well-spread ones. Used to seed xoshiro and to
/// derive per-member seeds from (ensemble, member).
@inlinable package func splitmix64(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// splitmix64's increment (2^64 / φ), which steps its state.
package let splitmix64Increment: UInt64 = 0x9E37_79B9_7F4A_7C15

/// 64-bit FNV-1a: a simple, stable hash for cache keys and checksums (not cryptographic).
package struct FNV1a: Sendable {
    package private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    package init() {}
    package mutating func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for b in bytes { value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
    }
    package static func hash<S: Sequence>(_ bytes: S) -> UInt64 where S.Element == UInt8 {
        var h = FNV1a()
        h.mix(bytes)
        return h.value
    }
}
