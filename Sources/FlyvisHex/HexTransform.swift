import Foundation

/// Rotations by n·60° and flips of the hex lattice as index permutations, with the matching
/// 2×2 transforms of flow vectors (x right, y up), as flyvis's HexRotate/HexFlip define them:
/// the content at coordinate c after the transform is the content at M⁻¹(c) before it.
package struct HexTransform: Sendable, Equatable {
    /// out[j] = in[permutation[j]].
    package let permutation: [Int]
    /// Row-major 2×2 matrix applied to (x, y) vector channels, in float32 like the reference.
    package let matrix: [Float]

    /// Rotation by n·60° counter-clockwise (n taken mod 6).
    package static func rotation(_ n: Int, lattice: HexLattice) -> HexTransform {
        let steps = ((n % 6) + 6) % 6
        let map: (Int, Int) -> (Int, Int) = { u, v in
            var (a, b) = (u, v)
            for _ in 0..<steps { (a, b) = (-b, a + b) }
            return (a, b)
        }
        let angle = Double(steps) * Double.pi / 3
        let m = [cos(angle), -sin(angle), sin(angle), cos(angle)].map { Float($0) }
        return HexTransform(lattice: lattice, map: map, matrix: m)
    }

    /// Flip over axis 1 (x → −x), 2 (the 150° line) or 3 (the 30° line); axis 0 is identity.
    package static func flip(axis: Int, lattice: HexLattice) -> HexTransform {
        let map: (Int, Int) -> (Int, Int)
        let alpha: Double
        switch axis {
        case 1: map = { u, v in (u + v, -v) }; alpha = 90
        case 2: map = { u, v in (-u, u + v) }; alpha = 150
        case 3: map = { u, v in (-v, -u) }; alpha = 210
        default:
            return HexTransform(permutation: Array(0..<lattice.count), matrix: [1, 0, 0, 1])
        }
        let a = 2 * alpha * Double.pi / 180
        let m = [cos(a), sin(a), sin(a), -cos(a)].map { Float($0) }
        return HexTransform(lattice: lattice, map: map, matrix: m)
    }

    init(permutation: [Int], matrix: [Float]) {
        self.permutation = permutation
        self.matrix = matrix
    }

    /// perm = indices sorted by the transformed (u, v) (lexsort by u, then v).
    init(lattice: HexLattice, map: (Int, Int) -> (Int, Int), matrix: [Float]) {
        let mapped = (0..<lattice.count).map { map(lattice.u[$0], lattice.v[$0]) }
        permutation = (0..<lattice.count).sorted { mapped[$0] < mapped[$1] }
        self.matrix = matrix
    }

    /// Applies the transform to frames × channels × hexals data in place. Vector channels
    /// (channels == 2) are also rotated/reflected; one channel is only permuted.
    package func apply(_ data: inout [Float], frames: Int, channels: Int) {
        let n = permutation.count
        var out = [Float](repeating: 0, count: data.count)
        for t in 0..<frames {
            for c in 0..<channels {
                let base = (t * channels + c) * n
                for j in 0..<n { out[base + j] = data[base + permutation[j]] }
            }
            if channels == 2 {
                let bx = (t * 2) * n, by = bx + n
                for j in 0..<n {
                    let x = out[bx + j], y = out[by + j]
                    out[bx + j] = matrix[0] * x + matrix[1] * y
                    out[by + j] = matrix[2] * x + matrix[3] * y
                }
            }
        }
        data = out
    }
}
