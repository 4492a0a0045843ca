import FlyvisConnectome

/// The spans of one batch size (see `StencilTables`): per type `start[t]..<start[t + 1]`, each
/// a first cell and a number of values (cells · batch, a multiple of `block`).
struct StencilSpans {
    /// Values per vector block of the kernels: two SIMD8 registers.
    static let block = 16
    var start: [Int] = [], cell: [Int32] = [], values: [Int32] = []
    /// Cells a map must hold for every kernel read and write to stay inside it.
    var mapCells = 0
    /// The longest span, in cells.
    var maxCells = 0

    init() {}

    init(tables t: StencilTables, layout: NetworkLayout, batch B: Int) {
        let runs = layout.activeRuns, block = Self.block
        start = [0]
        var lowest = 0, highest = layout.totalCells
        func roundUp(_ n: Int) -> Int { (n + block - 1) / block * block }
        for type in 0..<(t.runStart.count - 1) {
            // Every read is a term's offset from a span cell; μ and I are written on them.
            let offsets =
                (t.forwardStart[type]..<t.forwardStart[type + 1]).map { t.forwardOffset[$0] }
                + (t.backwardStart(type)..<t.backwardStart(type + 1)).map { t.backwardOffset[$0] } + [0]
            let below = offsets.min()!, above = offsets.max()!
            var open: (cell: Int, values: Int)?
            func close() {
                guard let s = open else { return }
                cell.append(Int32(s.cell)); values.append(Int32(s.values))
                let cells = (s.values + B - 1) / B
                maxCells = max(maxCells, cells)
                lowest = min(lowest, s.cell + below)
                highest = max(highest, s.cell + cells + above)
            }
            for r in t.runStart[type]..<t.runStart[type + 1] {
                let c0 = Int(runs[r].start), c1 = c0 + Int(runs[r].length)
                if let s = open, c0 * B < s.cell * B + s.values {
                    open = (s.cell, roundUp((c1 - s.cell) * B))  // the rounded span reaches this run
                } else {
                    close()
                    open = (c0, roundUp((c1 - c0) * B))
                }
            }
            close()
            start.append(cell.count)
        }
        precondition(lowest >= 0, "a stencil read falls before the first map")
        mapCells = highest
    }
}
