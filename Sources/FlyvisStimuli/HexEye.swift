import FlyvisHex
import Foundation

/// flyvis's `HexEye(721, 25)`: each hexal of the eye sees the pixels of a 775 × 775 monitor
/// (25 pixels per ommatidium, 180° wide) that lie inside its hexagon, and renders their mean.
///
/// flyvis decides "inside" in float16 arithmetic (`is_inside_hex` with torch's default dtype
/// there), so rounding at the pixels' absolute coordinates shapes every hexagon a little
/// differently (513 to 545 pixels at extent 15). We repeat that arithmetic operation by
/// operation — each float16 operation computed in float32 and rounded to float16, as torch does
/// on the CPU — which reproduces flyvis's 721 masks pixel for pixel.
///
/// Other extents keep the monitor's coordinates: a hexal (u, v) has the same centre and the
/// same mask at every extent. Beyond extent 15 the hexals leave flyvis's monitor; their pixels
/// then lie outside 0..<775 and the renderers extend the picture past the monitor's border.
struct HexEye: Sendable {
    /// The monitor of flyvis's extent-15 eye: 31 ommatidia of 25 pixels.
    static let monitorSide = 775
    static let pixelsPerOmmatidium = 25
    /// Pixel coordinate of the central hexal's centre (`775 // 2`).
    static let centerPixel = 387

    let lattice: HexLattice
    /// Hexal h's pixels are `pixelStart[h]..<pixelStart[h + 1]` in `pixelRow` / `pixelColumn`
    /// (monitor coordinates, row-major order within a hexal).
    let pixelStart: [Int]
    let pixelRow: [Int32]
    let pixelColumn: [Int32]

    var pixelCount: Int { pixelRow.count }

    /// Pixel rows spanned by all hexals (for extents above 15 beyond 0..<775).
    let rowRange: ClosedRange<Int>
    let columnRange: ClosedRange<Int>

    /// The masks of one extent, computed once per process.
    static func shared(extent: Int) -> HexEye {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let eye = cache[extent] { return eye }
        let eye = HexEye(extent: extent)
        cache[extent] = eye
        return eye
    }

    nonisolated(unsafe) private static var cache: [Int: HexEye] = [:]
    private static let cacheLock = NSLock()

    init(extent: Int) {
        lattice = HexLattice(extent: extent)
        let vertices = Self.vertexOffsets()
        var start = [0], rows: [Int32] = [], cols: [Int32] = []
        start.reserveCapacity(lattice.count + 1)
        rows.reserveCapacity(lattice.count * 560)
        cols.reserveCapacity(lattice.count * 560)
        let p = Double(Self.pixelsPerOmmatidium), c = Double(Self.centerPixel)
        var minRow = Int.max, maxRow = Int.min, minCol = Int.max, maxCol = Int.min
        for h in 0..<lattice.count {
            let u = Double(lattice.u[h]), v = Double(lattice.v[h])
            // hex_center_coordinates: x = 25 r + 387 (column), y = 25 (q + r/2) + 387 (row).
            let cx = half(Float(p * v + c)), cy = half(Float(p * (u + v / 2) + c))
            var vx = [Float](repeating: 0, count: 7), vy = [Float](repeating: 0, count: 7)
            for i in 0..<7 {
                vx[i] = half(vertices[i].x + cx)
                vy[i] = half(vertices[i].y + cy)
            }
            // Per edge: slope and the sign of the centre's side, as flyvis computes them.
            var slope = [Float](repeating: 0, count: 6), centerSign = [Float](repeating: 0, count: 6)
            for i in 0..<6 {
                slope[i] = half(half(vy[i + 1] - vy[i]) / half(vx[i + 1] - vx[i]))
                let f = half(half(vy[i] + half(slope[i] * half(cx - vx[i]))) - cy)
                centerSign[i] = sign(f)
            }
            // The hexagon spans ±14.4 columns and ±12.5 rows; float16 rounding moves its edges
            // by at most a pixel or two, so ±18 around the centre holds every candidate.
            let r0 = Int(cy.rounded(.down)) - 18, r1 = Int(cy.rounded(.up)) + 18
            let c0 = Int(cx.rounded(.down)) - 18, c1 = Int(cx.rounded(.up)) + 18
            for row in r0...r1 {
                // Inside flyvis's monitor only, up to extent 15; beyond it the monitor grows.
                if extent <= 15, row < 0 || row >= Self.monitorSide { continue }
                let y = Float(row)
                for col in c0...c1 {
                    if extent <= 15, col < 0 || col >= Self.monitorSide { continue }
                    let x = Float(col)
                    var inside = true
                    for i in 0..<6 {
                        let f = half(half(vy[i] + half(slope[i] * half(x - vx[i]))) - y)
                        if sign(f) != centerSign[i] { inside = false; break }
                    }
                    if inside {
                        rows.append(Int32(row))
                        cols.append(Int32(col))
                        minRow = min(minRow, row); maxRow = max(maxRow, row)
                        minCol = min(minCol, col); maxCol = max(maxCol, col)
                    }
                }
            }
            start.append(rows.count)
        }
        pixelStart = start
        pixelRow = rows
        pixelColumn = cols
        rowRange = minRow...maxRow
        columnRange = minCol...maxCol
    }

    /// The hexagon's seven vertices (the last closes it) relative to its centre, in float16 as
    /// flyvis computes them: the first at the vertex distance (2/√3 · 12.5) on the x axis, each
    /// next one the previous rotated by 60° with float16 cos and sin of float16 π/3.
    static func vertexOffsets() -> [(x: Float, y: Float)] {
        let distanceToEdge = Float(pixelsPerOmmatidium + pixelsPerOmmatidium) / 4  // (dist_w + dist_h) / 4
        // A float64 scalar times a float16 tensor: the scalar enters in float32, one rounding.
        let toVertex = half(Float(2 / 3.0.squareRoot()) * half(distanceToEdge))
        let pi = half(Float(Double.pi))
        let angle = half(pi / 3)
        let c = half(Float(cos(Double(angle)))), s = half(Float(sin(Double(angle))))
        var out: [(x: Float, y: Float)] = [(toVertex, 0)]
        for _ in 1..<7 {
            let (x, y) = out[out.count - 1]
            // torch's float16 matrix-vector product: products and sum in float32, rounded once.
            out.append((half(c * x + (-s) * y), half(s * x + c * y)))
        }
        return out
    }
}

/// `x` rounded to the nearest IEEE binary16 value (ties to even), subnormals included; what
/// torch's float16 tensors store after each operation. Written out rather than through
/// `Float16`, which some platforms lack.
@inline(__always)
func half(_ x: Float) -> Float {
    guard x.isFinite, x != 0 else { return x }
    // binary16: 10 fraction bits, smallest normal exponent −14, subnormal quantum 2^−24.
    let e = max(Int(x.exponent), -14)
    let quantum = Float(sign: .plus, exponent: e - 10, significand: 1)
    let r = (x / quantum).rounded(.toNearestOrEven) * quantum
    return abs(r) > 65504 ? (r < 0 ? -.infinity : .infinity) : r
}

/// torch.sign: −1, 0 or 1.
@inline(__always)
func sign(_ x: Float) -> Float { x > 0 ? 1 : (x < 0 ? -1 : 0) }
