import Testing

@testable import FlyvisHex

@Test func hexLatticeCountsAndOrder() {
    let h = HexLattice(extent: 15)
    #expect(h.count == 721)
    #expect(h.u.first == -15 && h.v.first == 0)
    #expect(h.index(u: 0, v: 0) == 360)
    #expect(HexLattice(extent: 4).count == HexLattice.count(extent: 4))
}
