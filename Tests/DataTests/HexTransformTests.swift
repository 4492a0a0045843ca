import FlyvisHex
import Foundation
import Testing

@testable import FlyvisData

@Suite struct HexTransformTests {
    let lattice = HexLattice(extent: 1)

    func apply(_ t: HexTransform) -> [Float] {
        var x: [Float] = (0..<7).map(Float.init)
        t.apply(&x, frames: 1, channels: 1)
        return x
    }

    /// flyvis's own test vectors (extent 1, input 0…6).
    @Test func permutationsMatchFlyvis() {
        let rot: [[Float]] = [
            [1, 4, 0, 3, 6, 2, 5], [4, 6, 1, 3, 5, 0, 2], [6, 5, 4, 3, 2, 1, 0], [5, 2, 6, 3, 0, 4, 1], [2, 0, 5, 3, 1, 6, 4],
        ]
        for n in 1...5 { #expect(apply(.rotation(n, lattice: lattice)) == rot[n - 1], "rotation \(n)") }
        let flips: [[Float]] = [[0, 2, 1, 3, 5, 4, 6], [5, 6, 2, 3, 4, 0, 1], [4, 1, 6, 3, 0, 5, 2]]
        for a in 1...3 { #expect(apply(.flip(axis: a, lattice: lattice)) == flips[a - 1], "flip \(a)") }
        #expect(apply(.flip(axis: 0, lattice: lattice)) == (0..<7).map(Float.init))
    }

    @Test func flowVectorsTurnWithTheLattice() {
        func direction(_ t: HexTransform) -> Double {
            var x = [Float](repeating: 1, count: 7) + [Float](repeating: 0, count: 7)  // unit vector at 0°
            t.apply(&x, frames: 1, channels: 2)
            return (atan2(Double(x[7]), Double(x[0])) * 180 / .pi + 360).truncatingRemainder(dividingBy: 360)
        }
        for n in 0..<6 { #expect(abs(direction(.rotation(n, lattice: lattice)) - Double(60 * n)) < 1e-4) }
        for (a, deg) in [(1, 180.0), (2, 300.0), (3, 60.0)] { #expect(abs(direction(.flip(axis: a, lattice: lattice)) - deg) < 1e-4) }
    }

    /// A flow field that is a pure translation stays consistent: rotating the lattice content and
    /// the vectors together equals translating the rotated content.
    @Test func rotatedTranslationIsATranslation() {
        let big = HexLattice(extent: 4)
        // Centre of hexal in (x right, y up): x = 1.5·v, y = −√3·(u + v/2).
        let pos = (0..<big.count).map { (1.5 * Double(big.v[$0]), -3.0.squareRoot() * (Double(big.u[$0]) + Double(big.v[$0]) / 2)) }
        for n in 1...5 {
            let t = HexTransform.rotation(n, lattice: big)
            // A linear ramp f = a·x rotates into a·(x cos + y sin) and its gradient direction by n·60°.
            var f = pos.map { Float($0.0) }
            t.apply(&f, frames: 1, channels: 1)
            let angle = Double(n) * .pi / 3
            for j in 0..<big.count {
                let expected = pos[j].0 * cos(angle) + pos[j].1 * sin(angle)
                #expect(abs(Double(f[j]) - expected) < 1e-5)
            }
        }
    }
}
