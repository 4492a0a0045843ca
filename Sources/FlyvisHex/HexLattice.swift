/// The hexagonal lattice of the fly eye in flyvis's axial (u, v) coordinates.
///
/// flyvis enumerates a radius-`extent` hexagon with u ascending in the outer loop and v
/// ascending in the inner loop; every per-hexal array (721 entries at extent 15) uses that
/// order, so we keep it exactly.
package struct HexLattice: Sendable, Equatable {
    /// The extents a network (connectome, decoders, data) may have: one ring at least, and 64
    /// rings is far beyond flyvis's 15. The config's validation and the connectome check it.
    package static let networkExtents = 1...64

    package let extent: Int
    package let u: [Int]
    package let v: [Int]
    /// Row-major (u + extent, v + extent) → hexal index, -1 outside the hexagon.
    private let lookup: [Int]

    package init(extent: Int) {
        precondition(extent >= 0, "extent must be non-negative")
        self.extent = extent
        var us: [Int] = [], vs: [Int] = []
        let side = 2 * extent + 1
        var table = [Int](repeating: -1, count: side * side)
        for uu in -extent...extent {
            for vv in max(-extent, -extent - uu)...min(extent, extent - uu) {
                table[(uu + extent) * side + (vv + extent)] = us.count
                us.append(uu)
                vs.append(vv)
            }
        }
        u = us
        v = vs
        lookup = table
    }

    /// Number of hexals, 3n(n+1)+1.
    package var count: Int { u.count }

    /// Width and height of the square cartesian map (2n+1) used by the decoder.
    package var side: Int { 2 * extent + 1 }

    /// Hexal index at (u, v), or nil outside the hexagon.
    package func index(u uu: Int, v vv: Int) -> Int? {
        guard abs(uu) <= extent, abs(vv) <= extent, abs(uu + vv) <= extent else { return nil }
        return lookup[(uu + extent) * side + (vv + extent)]
    }

    /// Flat pixel index (row = u + n, col = v + n) of each hexal in the side×side map.
    package var cartesianPixel: [Int] {
        (0..<count).map { (u[$0] + extent) * side + (v[$0] + extent) }
    }

    /// Number of hexals for a radius.
    package static func count(extent: Int) -> Int { 3 * extent * (extent + 1) + 1 }
}
