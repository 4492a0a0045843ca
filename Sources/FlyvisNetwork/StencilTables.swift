import FlyvisConnectome

/// The recurrent product as per-type stencils. Every group (source type, target type, du, dv)
/// is one weight times the source map shifted by a constant flat offset in the padded layout,
/// and the source map is zero wherever a source cell does not exist. So the input current of
/// a target type is Σ_terms w·f(cell + offset) over its cells: accumulated in registers,
/// written once, with no read-modify-write of the current per group.
///
/// The backward's transposed product runs per source type and factors each group's weight
/// as w_g = scale_g · strength_e (scale = sign·exp(count), e its edge type): per edge type it
/// sums ν_e = Σ_{g∈e} scale_g·δ(shifted) once and uses it twice, for μ += strength_e·ν_e and for
/// the strength gradient Σ f·ν_e. That is one multiply-add per group and cell instead of two
/// (a group's own gradient is never needed: only the strengths are trained).
///
/// The kernels sweep *spans*: the runs of existing cells rounded up to whole vectors and merged
/// where they then overlap, so that no loop has a scalar tail. The cells a span adds are
/// missing cells or padding, whose f and δ are zero: their products add zero to the dots, and
/// the currents and μ written there are never read.
struct StencilTables {
    /// Per type, its range of active runs in `NetworkLayout.activeRuns`.
    let runStart: [Int]
    /// Forward terms of target type t: `forwardStart[t]..<forwardStart[t + 1]`, each a group
    /// and the flat cell offset from a target cell to its source cell, in flyvis's group order.
    let forwardStart: [Int], forwardGroup: [Int32], forwardOffset: [Int]
    /// Backward: the edge types leaving source type s are `edgeStart[s]..<edgeStart[s + 1]`
    /// (index `edgeType`); the terms of edge entry e are `edgeTermStart[e]..<edgeTermStart[e + 1]`,
    /// each a group and the offset from a source cell to its target cell.
    let edgeStart: [Int], edgeType: [Int32], edgeTermStart: [Int]
    let backwardGroup: [Int32], backwardOffset: [Int]
    /// Number of edge types (the length of the strength gradient).
    let edgeTypes: Int

    init(layout: NetworkLayout, groups: [(sourceType: Int, targetType: Int, du: Int, dv: Int, edgeType: Int)]) {
        let types = layout.types, side = layout.side, cpt = layout.cellsPerType
        var runStart = [Int](repeating: 0, count: types + 1)
        for t in layout.activeRunType { runStart[Int(t) + 1] += 1 }
        for t in 0..<types { runStart[t + 1] += runStart[t] }
        self.runStart = runStart
        // `groupOrder` is sorted by target type first, so the terms of each type are contiguous.
        var start = [Int](repeating: 0, count: types + 1)
        for g in layout.groupOrder { start[groups[Int(g)].targetType + 1] += 1 }
        for t in 0..<types { start[t + 1] += start[t] }
        forwardStart = start
        forwardGroup = layout.groupOrder
        forwardOffset = layout.groupOrder.map { g in
            let g = groups[Int(g)]
            return (g.sourceType - g.targetType) * cpt - g.du * side - g.dv
        }
        // `groupOrderBySource` is sorted by source, target and edge type: each edge type's
        // groups are one contiguous stretch.
        backwardGroup = layout.groupOrderBySource
        backwardOffset = layout.groupOrderBySource.map { g in
            let g = groups[Int(g)]
            return (g.targetType - g.sourceType) * cpt + g.du * side + g.dv
        }
        var edgeStart = [Int](repeating: 0, count: types + 1), edgeType: [Int32] = [], edgeTermStart: [Int] = []
        for (k, g) in layout.groupOrderBySource.enumerated() {
            let group = groups[Int(g)]
            if k == 0 || groups[Int(layout.groupOrderBySource[k - 1])].edgeType != group.edgeType {
                edgeType.append(Int32(group.edgeType))
                edgeTermStart.append(k)
                edgeStart[group.sourceType + 1] += 1
            }
        }
        edgeTermStart.append(backwardGroup.count)
        for t in 0..<types { edgeStart[t + 1] += edgeStart[t] }
        self.edgeStart = edgeStart
        self.edgeType = edgeType
        self.edgeTermStart = edgeTermStart
        edgeTypes = groups.reduce(0) { max($0, $1.edgeType + 1) }
    }

    /// Backward terms of source type s: `backwardStart(s)..<backwardStart(s + 1)`.
    func backwardStart(_ s: Int) -> Int { edgeTermStart[edgeStart[s]] }

    /// Splits the types into `parts` contiguous ranges of similar work (terms × runs), for
    /// threads that each own whole type maps.
    func partition(parts: Int, termStart: (Int) -> Int) -> [Range<Int>] {
        let types = runStart.count - 1
        guard parts > 1 else { return [0..<types] }
        var work = [Double](repeating: 0, count: types)
        for t in 0..<types {
            let terms = Double(termStart(t + 1) - termStart(t) + 1), runs = Double(runStart[t + 1] - runStart[t] + 1)
            work[t] = terms * runs
        }
        let total = work.reduce(0, +)
        var ranges: [Range<Int>] = [], lo = 0, acc = 0.0
        for t in 0..<types {
            acc += work[t]
            if ranges.count < parts - 1 && acc >= total * Double(ranges.count + 1) / Double(parts) {
                ranges.append(lo..<(t + 1))
                lo = t + 1
            }
        }
        ranges.append(lo..<types)
        return ranges.filter { !$0.isEmpty }
    }
}
