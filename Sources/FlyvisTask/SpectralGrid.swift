import FlyvisHex

/// Where SpectralConv's periodic transform grid holds the map's values: `height` grid rows of
/// `width` columns, the taps as grid shifts, and per grid row the values it loads and emits.
///
/// A circular correlation on the grid equals the map's zero-padded one wherever no tap reaches
/// a periodic copy of the input. Two grids have that property:
/// - `square`: the map itself in an L × L grid, L ≥ side + 2·pad, for inputs on the whole map.
/// - `hexagon`: for inputs that are zero off the hexagon H_R = {|u|, |v|, |u + v| ≤ R}, the
///   quotient of the lattice by Λ = s·⟨(2, −1), (1, 1)⟩, whose shortest vectors have hex norm
///   max(|a|, |b|, |a + b|) = 2s. With s ≥ R + r + 1 (r the taps' largest hex norm) no point of
///   H_{R+2r} meets a copy of H_R, so outputs on the reach H_{R+r} are exact, and distinct
///   points of H_{R+r} stay distinct on the grid. Z²/Λ ≅ Z_{3s} × Z_s through
///   (u, v) ↦ ((u − v) mod 3s, v mod s): both generators map to 0, (1, 0) and (0, 1) generate
///   the target, and both sides have 3s² elements. That is 3s² points (972 at R = 15, r = 2)
///   instead of the square's L² (1296), and a quarter fewer half-spectrum bins.
struct SpectralGrid {
    /// The grid's values of one kind, row by row: entries start[y]..<start[y + 1] of grid row
    /// y sit at `column` and belong to the map's `index` (a pixel or a hexal).
    struct Rows {
        let start: [Int], column: [Int], index: [Int]

        /// Sorts (grid row, column, index) triples into rows of `rows`, by column within a row.
        init(rows: Int, _ entries: [(row: Int, column: Int, index: Int)]) {
            let sorted = entries.sorted { ($0.row, $0.column) < ($1.row, $1.column) }
            var start = [Int](repeating: 0, count: rows + 1)
            for e in sorted { start[e.row + 1] += 1 }
            for y in 0..<rows { start[y + 1] += start[y] }
            self.start = start
            column = sorted.map(\.column)
            index = sorted.map(\.index)
        }

        func range(_ y: Int) -> Range<Int> { start[y]..<start[y + 1] }
        var count: Int { column.count }

        /// Grid row y of `width` lanes: `value(index)` at each entry's column, zeros elsewhere.
        @inline(__always)
        func fill(_ row: UnsafeMutablePointer<SIMD8<Float>>, width: Int, y: Int, _ value: (Int) -> SIMD8<Float>) {
            row.update(repeating: SIMD8<Float>(), count: width)
            for e in range(y) { row[column[e]] = value(index[e]) }
        }

        /// Hands out grid row y's entries: `body(index, value at the entry's column)`.
        @inline(__always)
        func read(_ row: UnsafePointer<SIMD8<Float>>, y: Int, _ body: (Int, SIMD8<Float>) -> Void) {
            for e in range(y) { body(index[e], row[column[e]]) }
        }
    }

    /// The square map's side; outputs and dOut are (channel, image, side²) maps.
    let side: Int
    /// Grid columns (the real row transforms' length, even) and rows (the column transforms').
    let width: Int, height: Int
    /// Grid rows that can hold values; the rows past them stay zero and are not transformed.
    let filledRows: Int
    /// Per tap, its shift on the grid: out(q) = Σ_t w(t)·x(q + shift(t)).
    let shifts: [(row: Int, column: Int)]
    /// Where the input is read (forward) and its gradient written (backward): map pixels for
    /// the square, hexals for the hexagon, each index of 0..<count once (the staged layout).
    let input: Rows
    /// The map pixels the forward computes from the grid, and the dOut the backward reads.
    let output: Rows
    /// The map pixels whose output is the bias alone (no tap reaches the input from them).
    let biasOnly: [Int]

    /// The whole map in the corner of an L × L grid, L the smallest even 2ᵃ3ᵇ ≥ side + 2·pad.
    static func square(side: Int, pad: Int, taps: [(dy: Int, dx: Int)]) -> SpectralGrid {
        let L = LaneFFT.length(atLeast: side + 2 * pad)
        let map = Rows(rows: L, (0..<(side * side)).map { q in (q / side, q % side, q) })
        return SpectralGrid(
            side: side, width: L, height: L, filledRows: side, shifts: taps.map { ($0.dy, $0.dx) }, input: map,
            output: map, biasOnly: [])
    }

    /// The hexagon's periodic grid for inputs that are zero off the lattice's hexagon: s rows
    /// of 3s columns, s the smallest even 2ᵃ3ᵇ ≥ R + r + 1 (even so that the rows have a half
    /// spectrum). Map pixel (y, x) is (u, v) = (y − R, x − R), on grid row v mod s and column
    /// (u − v) mod 3s; a tap (dy, dx) = (du, dv) shifts by dv rows and du − dv columns.
    static func hexagon(_ lattice: HexLattice, taps: [(dy: Int, dx: Int)]) -> SpectralGrid {
        let R = lattice.extent, side = lattice.side
        let r = taps.map { max(abs($0.dy), abs($0.dx), abs($0.dy + $0.dx)) }.max() ?? 0
        let s = LaneFFT.length(atLeast: R + r + 1), w = 3 * s
        func cell(_ u: Int, _ v: Int) -> (row: Int, column: Int) { (((v % s) + s) % s, (((u - v) % w) + w) % w) }
        let hexals = (0..<lattice.count).map { h in
            let c = cell(lattice.u[h], lattice.v[h])
            return (c.row, c.column, h)
        }
        var reach: [(row: Int, column: Int, index: Int)] = [], biasOnly: [Int] = []
        for q in 0..<(side * side) {
            let u = q / side - R, v = q % side - R
            if abs(u + v) <= R + r {
                let c = cell(u, v)
                reach.append((c.row, c.column, q))
            } else {
                biasOnly.append(q)
            }
        }
        return SpectralGrid(
            side: side, width: w, height: s, filledRows: s, shifts: taps.map { ($0.dx, $0.dy - $0.dx) },
            input: Rows(rows: s, hexals), output: Rows(rows: s, reach), biasOnly: biasOnly)
    }
}
