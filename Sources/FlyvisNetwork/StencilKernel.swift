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
            let offsets = (t.forwardStart[type]..<t.forwardStart[type + 1]).map { t.forwardOffset[$0] }
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

/// The stencil loops over raw copies of the tables, shared read-only by worker threads.
struct StencilKernel<S: NetworkScalar>: @unchecked Sendable {
    typealias V = SIMD8<S>
    let spanStart: UnsafePointer<Int>, spanCell: UnsafePointer<Int32>, spanValues: UnsafePointer<Int32>
    let forwardStart: UnsafePointer<Int>, forwardOffset: UnsafePointer<Int>
    let edgeStart: UnsafePointer<Int>, edgeType: UnsafePointer<Int32>, edgeTermStart: UnsafePointer<Int>
    let backwardOffset: UnsafePointer<Int>
    let weights: StencilWeights<S>
    let batch: Int

    @inline(__always) static func load(_ p: UnsafePointer<S>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<S>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    /// The spans of type t as flat value ranges (cells · batch).
    @inline(__always)
    private func forEachSpan(_ t: Int, _ body: (Int, Int) -> Void) {
        for sp in spanStart[t]..<spanStart[t + 1] {
            let lo = Int(spanCell[sp]) &* batch
            body(lo, lo &+ Int(spanValues[sp]))
        }
    }

    /// I = Σ_terms w·f(shifted) on every span cell of target type `t`, each current summed
    /// over the terms in flyvis's group order.
    func forward(type t: Int, f: UnsafePointer<S>, current I: UnsafeMutablePointer<S>) {
        let B = batch, k0 = forwardStart[t], k1 = forwardStart[t + 1], w = weights.forward
        forEachSpan(t) { lo, hi in
            var i = lo
            while i &+ 32 <= hi {
                var a0 = V.zero, a1 = V.zero, a2 = V.zero, a3 = V.zero
                for k in k0..<k1 {
                    let wk = V(repeating: w[k]), p = f + (i &+ forwardOffset[k] &* B)
                    a0 = a0.addingProduct(wk, Self.load(p)); a1 = a1.addingProduct(wk, Self.load(p + 8))
                    a2 = a2.addingProduct(wk, Self.load(p + 16)); a3 = a3.addingProduct(wk, Self.load(p + 24))
                }
                Self.store(a0, I + i); Self.store(a1, I + i + 8); Self.store(a2, I + i + 16); Self.store(a3, I + i + 24)
                i &+= 32
            }
            if i < hi {  // spans are whole blocks of 16
                var a0 = V.zero, a1 = V.zero
                for k in k0..<k1 {
                    let wk = V(repeating: w[k]), p = f + (i &+ forwardOffset[k] &* B)
                    a0 = a0.addingProduct(wk, Self.load(p)); a1 = a1.addingProduct(wk, Self.load(p + 8))
                }
                Self.store(a0, I + i); Self.store(a1, I + i + 8)
            }
        }
    }

    /// For source type `s`, one adjoint lane in the state's (cell, batch) layout: per edge type
    /// e, ν = Σ_{g∈e} scale_g·δ(shifted); μ = Σ_e strength_e·ν on every span cell of `s`, and
    /// dots[e] = Σ f·ν (the strength gradient), block by block of 16 values.
    ///
    /// `reluUpdate`: with ReLU, also λ ← c·λ + f'(v)·μ block by block while the block is in
    /// registers and cache (f'(v) = [f > 0] for ReLU), instead of a second pass over the type
    /// that reads v from the history; c = 1 − k of type `s`. The same operations per value as
    /// the engine's separate update, so the results are bitwise the same.
    func backward(type s: Int, f: UnsafePointer<S>, delta: UnsafePointer<S>, mu: UnsafeMutablePointer<S>,
                  dots: UnsafeMutablePointer<S>, scratch: UnsafeMutableRawPointer,
                  reluUpdate c: S? = nil, lambda: UnsafeMutablePointer<S>? = nil) {
        let B = batch, e0 = edgeStart[s], e1 = edgeStart[s + 1], scale = weights.scale, strength = weights.strength
        let sums = DotSums<S>(scratch, edges: e1 - e0)
        forEachSpan(s) { lo, hi in
            var i = lo
            while i < hi {
                let f0 = Self.load(f + i), f1 = Self.load(f + i + 8)
                var m0 = V.zero, m1 = V.zero
                for e in e0..<e1 {
                    var n0 = V.zero, n1 = V.zero
                    for k in edgeTermStart[e]..<edgeTermStart[e + 1] {
                        let a = V(repeating: scale[k]), p = delta + (i &+ backwardOffset[k] &* B)
                        n0 = n0.addingProduct(a, Self.load(p)); n1 = n1.addingProduct(a, Self.load(p + 8))
                    }
                    let w = V(repeating: strength[e])
                    m0 = m0.addingProduct(w, n0); m1 = m1.addingProduct(w, n1)
                    sums.vector[e &- e0] = sums.vector[e &- e0].addingProduct(f0, n0).addingProduct(f1, n1)
                }
                if let c, let lambda {
                    let cv = V(repeating: c), l = lambda + i
                    Self.store(S.reluAdjoint(cv, Self.load(l), m0, gate: f0), l)
                    Self.store(S.reluAdjoint(cv, Self.load(l + 8), m1, gate: f1), l + 8)
                } else {
                    Self.store(m0, mu + i); Self.store(m1, mu + i + 8)
                }
                i &+= 16
            }
        }
        sums.finish(into: dots, edgeTypes: edgeType + e0)
    }

    /// `backward` for two lanes (the loss and the activity penalty) interleaved per cell as
    /// (cell, lane, batch): ν and μ for both lanes in one sweep, the dots for the main lane only.
    /// Every main-lane value is computed by the same operations in the same order as in
    /// `backward`, so the main lane's gradients do not depend on whether the penalty lane runs.
    /// `reluUpdate` as in `backward`, at the batch of four only.
    func backwardTwoLanes(type s: Int, f: UnsafePointer<S>, delta: UnsafePointer<S>, mu: UnsafeMutablePointer<S>,
                          dots: UnsafeMutablePointer<S>, scratch: UnsafeMutableRawPointer,
                          reluUpdate c: S? = nil, lambda: UnsafeMutablePointer<S>? = nil) {
        let e0 = edgeStart[s], e1 = edgeStart[s + 1]
        let sums = DotSums<S>(scratch, edges: e1 - e0)
        forEachSpan(s) { lo, hi in
            if batch == 4 {
                twoLanesOfFour(cells: (lo / 4)..<(hi / 4), edges: e0..<e1, f: f, delta: delta, mu: mu, sums: sums,
                               reluUpdate: c, lambda: lambda)
            } else {
                twoLanesAnyBatch(values: lo..<hi, edges: e0..<e1, f: f, delta: delta, mu: mu, sums: sums,
                                 nu: sums.spare.assumingMemoryBound(to: S.self))
            }
        }
        sums.finish(into: dots, edgeTypes: edgeType + e0)
    }

    /// The reference batch of four: one vector holds both lanes of a cell, so a block of four
    /// cells (`backward`'s 16 values) is four loads per term, and the main lane's halves of
    /// two of them make one of `backward`'s vectors.
    @inline(__always)
    private func twoLanesOfFour(cells: Range<Int>, edges: Range<Int>, f: UnsafePointer<S>, delta: UnsafePointer<S>,
                                mu: UnsafeMutablePointer<S>, sums: DotSums<S>, reluUpdate: S?, lambda: UnsafeMutablePointer<S>?) {
        let e0 = edges.lowerBound, scale = weights.scale, strength = weights.strength
        var c = cells.lowerBound
        while c < cells.upperBound {
            let x = c &* 8, f0 = Self.load(f + c &* 4), f1 = Self.load(f + c &* 4 + 8)
            var m0 = V.zero, m1 = V.zero, m2 = V.zero, m3 = V.zero
            for e in edges {
                var n0 = V.zero, n1 = V.zero, n2 = V.zero, n3 = V.zero
                for k in edgeTermStart[e]..<edgeTermStart[e + 1] {
                    let a = V(repeating: scale[k]), p = delta + (x &+ backwardOffset[k] &* 8)
                    n0 = n0.addingProduct(a, Self.load(p)); n1 = n1.addingProduct(a, Self.load(p + 8))
                    n2 = n2.addingProduct(a, Self.load(p + 16)); n3 = n3.addingProduct(a, Self.load(p + 24))
                }
                let w = V(repeating: strength[e])
                m0 = m0.addingProduct(w, n0); m1 = m1.addingProduct(w, n1)
                m2 = m2.addingProduct(w, n2); m3 = m3.addingProduct(w, n3)
                let main0 = V(lowHalf: n0.lowHalf, highHalf: n1.lowHalf), main1 = V(lowHalf: n2.lowHalf, highHalf: n3.lowHalf)
                sums.vector[e &- e0] = sums.vector[e &- e0].addingProduct(f0, main0).addingProduct(f1, main1)
            }
            if let k = reluUpdate, let lambda {  // both lanes of a cell use its f'(v) = [f > 0]
                let kv = V(repeating: k), l = lambda + x
                Self.store(S.reluAdjoint(kv, Self.load(l), m0, gate: V(lowHalf: f0.lowHalf, highHalf: f0.lowHalf)), l)
                Self.store(S.reluAdjoint(kv, Self.load(l + 8), m1, gate: V(lowHalf: f0.highHalf, highHalf: f0.highHalf)), l + 8)
                Self.store(S.reluAdjoint(kv, Self.load(l + 16), m2, gate: V(lowHalf: f1.lowHalf, highHalf: f1.lowHalf)), l + 16)
                Self.store(S.reluAdjoint(kv, Self.load(l + 24), m3, gate: V(lowHalf: f1.highHalf, highHalf: f1.highHalf)), l + 24)
            } else {
                Self.store(m0, mu + x); Self.store(m1, mu + x + 8); Self.store(m2, mu + x + 16); Self.store(m3, mu + x + 24)
            }
            c &+= 4
        }
    }

    /// Any other batch: per edge type, ν of both lanes into `nu` (value by value, as `backward`
    /// computes each), μ accumulated in memory, and the main lane's dots from gathered vectors
    /// in `backward`'s blocks of 16 values.
    private func twoLanesAnyBatch(values: Range<Int>, edges: Range<Int>, f: UnsafePointer<S>, delta: UnsafePointer<S>,
                                  mu: UnsafeMutablePointer<S>, sums: DotSums<S>, nu: UnsafeMutablePointer<S>) {
        let B = batch, W = 2 * batch, e0 = edges.lowerBound, scale = weights.scale, strength = weights.strength
        let firstCell = values.lowerBound / B, cells = (values.count + B - 1) / B
        let x0 = firstCell * W, count = cells * W
        (mu + x0).update(repeating: 0, count: count)
        for e in edges {
            nu.update(repeating: 0, count: count)
            for k in edgeTermStart[e]..<edgeTermStart[e + 1] {
                let a = scale[k], d = delta + x0 + backwardOffset[k] * W
                for j in 0..<count { nu[j] = nu[j].addingProduct(a, d[j]) }
            }
            let w = strength[e]
            for j in 0..<count { mu[x0 + j] = mu[x0 + j].addingProduct(w, nu[j]) }
            // Main-lane value j of the span (cell-major, batch innermost).
            @inline(__always) func main(_ j: Int) -> S { nu[(j / B) * W + j % B] }
            let fSpan = f + values.lowerBound
            var j = 0
            while j < values.count {
                var d0 = V.zero, d1 = V.zero
                for l in 0..<8 { d0[l] = main(j + l); d1[l] = main(j + 8 + l) }
                sums.vector[e - e0] = sums.vector[e - e0].addingProduct(Self.load(fSpan + j), d0)
                    .addingProduct(Self.load(fSpan + j + 8), d1)
                j += 16
            }
        }
    }
}

/// The engine's per-term copies of the parameters in the kernels' orders: the forward's
/// weights, the backward's scales (sign·exp(count)) and per edge entry the strengths.
struct StencilWeights<S: NetworkScalar> {
    let forward: UnsafeMutablePointer<S>
    let scale: UnsafeMutablePointer<S>
    let strength: UnsafeMutablePointer<S>
}

/// Per-edge-entry partial sums of the strength-gradient dot products in a thread's scratch,
/// followed by spare room (ν for `twoLanesAnyBatch`).
struct DotSums<S: NetworkScalar> {
    let vector: UnsafeMutablePointer<SIMD8<S>>
    let spare: UnsafeMutableRawPointer
    let edges: Int

    init(_ scratch: UnsafeMutableRawPointer, edges n: Int) {
        vector = scratch.bindMemory(to: SIMD8<S>.self, capacity: max(n, 1))
        spare = UnsafeMutableRawPointer(vector + max(n, 1))
        edges = n
        vector.initialize(repeating: .zero, count: n)
    }

    /// Bytes of scratch for `edges` entries and `spare` values of S.
    static func bytes(edges: Int, spare: Int) -> Int {
        max(1, edges) * MemoryLayout<SIMD8<S>>.stride + spare * MemoryLayout<S>.stride
    }

    /// dots[edgeTypes[e]] = the sum of entry e.
    func finish(into dots: UnsafeMutablePointer<S>, edgeTypes: UnsafePointer<Int32>) {
        for e in 0..<edges { dots[Int(edgeTypes[e])] = vector[e].sum() }
    }
}

/// Owns stable copies of the stencil tables (Swift arrays may move), the spans of the current
/// batch size and the per-thread type ranges.
final class StencilStore {
    let tables: StencilTables
    let layout: NetworkLayout
    private let ints: [UnsafeMutablePointer<Int>]
    private let edgeTypes: UnsafeMutablePointer<Int32>
    let maxEdges: Int
    private(set) var spans = StencilSpans()
    private var spanStart: UnsafeMutablePointer<Int>?, spanCell: UnsafeMutablePointer<Int32>?
    private var spanValues: UnsafeMutablePointer<Int32>?
    private(set) var batch = 0
    private(set) var forwardParts: [Range<Int>] = []
    private(set) var backwardParts: [Range<Int>] = []

    init(layout: NetworkLayout, groups g: [(sourceType: Int, targetType: Int, du: Int, dv: Int, edgeType: Int)]) {
        let t = StencilTables(layout: layout, groups: g)
        tables = t
        self.layout = layout
        ints = [copy(t.forwardStart), copy(t.forwardOffset), copy(t.edgeStart), copy(t.edgeTermStart), copy(t.backwardOffset)]
        edgeTypes = copy(t.edgeType)
        maxEdges = (0..<(t.edgeStart.count - 1)).map { t.edgeStart[$0 + 1] - t.edgeStart[$0] }.max() ?? 0
        setThreads(1)
    }

    deinit {
        for p in ints { p.deallocate() }
        edgeTypes.deallocate()
        releaseSpans()
    }

    private func releaseSpans() {
        spanStart?.deallocate(); spanCell?.deallocate(); spanValues?.deallocate()
    }

    /// Builds the spans for a batch size (done when the engine sizes its buffers).
    func prepare(batch b: Int) {
        guard b != batch else { return }
        releaseSpans()
        spans = StencilSpans(tables: tables, layout: layout, batch: b)
        spanStart = copy(spans.start); spanCell = copy(spans.cell); spanValues = copy(spans.values)
        batch = b
    }

    func setThreads(_ n: Int) {
        forwardParts = tables.partition(parts: n) { self.tables.forwardStart[$0] }
        backwardParts = tables.partition(parts: n) { self.tables.backwardStart($0) }
    }

    func kernel<S: NetworkScalar>(weights: StencilWeights<S>) -> StencilKernel<S> {
        StencilKernel(spanStart: spanStart!, spanCell: spanCell!, spanValues: spanValues!,
                      forwardStart: ints[0], forwardOffset: ints[1], edgeStart: ints[2], edgeType: edgeTypes,
                      edgeTermStart: ints[3], backwardOffset: ints[4], weights: weights, batch: batch)
    }

    /// Bytes of backward scratch per thread for scalar type S: the dot sums and, for two lanes
    /// at a batch other than four, ν of the longest span.
    func scratchBytes<S: NetworkScalar>(_: S.Type) -> Int { DotSums<S>.bytes(edges: maxEdges, spare: spans.maxCells * 2 * batch) }
}

/// A stable copy of an array (at least one element).
private func copy<T>(_ a: [T]) -> UnsafeMutablePointer<T> {
    let p = UnsafeMutablePointer<T>.allocate(capacity: max(1, a.count))
    p.initialize(from: a, count: a.count)
    return p
}
