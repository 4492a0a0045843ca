import FlyvisConnectome

/// The recurrent product as per-type stencils. Every group (source type, target type, du, dv)
/// is one weight times the source map shifted by a constant flat offset in the padded layout,
/// and the source map is zero wherever a source cell does not exist. So the input current of
/// a target type is Σ_terms w·f(cell + offset) over its active cells: accumulated in registers,
/// written once, with no read-modify-write of the current per group. The backward's
/// transposed product is the same stencil per source type, and shares its loads of δ with
/// the weight-gradient dot products.
///
/// Terms are in the same order as the per-group AXPYs they replace (groups sorted by target,
/// then source, for the forward; by source, then target, for the backward), so every current
/// and μ is summed in the same order as before.
struct StencilTables {
    /// Per type, its range of active runs in `NetworkLayout.activeRuns`.
    let runStart: [Int]
    /// Forward terms of target type t: `forwardStart[t]..<forwardStart[t + 1]`, each a group
    /// and the flat cell offset from a target cell to its source cell.
    let forwardStart: [Int], forwardGroup: [Int32], forwardOffset: [Int]
    /// Backward terms of source type s: offsets from a source cell to its target cell.
    let backwardStart: [Int], backwardGroup: [Int32], backwardOffset: [Int]

    init(layout: NetworkLayout, groups: [(sourceType: Int, targetType: Int, du: Int, dv: Int)]) {
        let types = layout.types, side = layout.side, cpt = layout.cellsPerType
        var runStart = [Int](repeating: 0, count: types + 1)
        for t in layout.activeRunType { runStart[Int(t) + 1] += 1 }
        for t in 0..<types { runStart[t + 1] += runStart[t] }
        self.runStart = runStart
        func table(_ order: [Int32], typeOf: (Int) -> Int, offset: (Int) -> Int) -> ([Int], [Int32], [Int]) {
            var start = [Int](repeating: 0, count: types + 1)
            for g in order { start[typeOf(Int(g)) + 1] += 1 }
            for t in 0..<types { start[t + 1] += start[t] }
            // `order` is sorted by `typeOf` first, so the terms of each type are contiguous.
            return (start, order, order.map { offset(Int($0)) })
        }
        (forwardStart, forwardGroup, forwardOffset) = table(layout.groupOrder, typeOf: { groups[$0].targetType }) { g in
            (groups[g].sourceType - groups[g].targetType) * cpt - groups[g].du * side - groups[g].dv
        }
        (backwardStart, backwardGroup, backwardOffset) = table(layout.groupOrderBySource, typeOf: { groups[$0].sourceType }) { g in
            (groups[g].targetType - groups[g].sourceType) * cpt + groups[g].du * side + groups[g].dv
        }
    }

    /// Splits the types into `parts` contiguous ranges of similar work (terms × cells), for
    /// threads that each own whole type maps.
    func partition(parts: Int, start: [Int]) -> [Range<Int>] {
        let types = runStart.count - 1
        guard parts > 1 else { return [0..<types] }
        var work = [Double](repeating: 0, count: types)
        for t in 0..<types {
            let terms = Double(start[t + 1] - start[t] + 1), runs = Double(runStart[t + 1] - runStart[t] + 1)
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

/// The stencil loops over raw copies of the tables, shared read-only by worker threads.
struct StencilKernel<S: NetworkScalar>: @unchecked Sendable {
    typealias V = SIMD8<S>
    let runs: UnsafePointer<(start: Int32, length: Int32)>
    let runStart: UnsafePointer<Int>
    let forwardStart: UnsafePointer<Int>, forwardGroup: UnsafePointer<Int32>, forwardOffset: UnsafePointer<Int>
    let backwardStart: UnsafePointer<Int>, backwardGroup: UnsafePointer<Int32>, backwardOffset: UnsafePointer<Int>
    let weights: UnsafePointer<S>
    let batch: Int

    @inline(__always) static func load(_ p: UnsafePointer<S>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<S>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    /// I = Σ_terms w·f(shifted) on every active cell of target type `t`.
    func forward(type t: Int, f: UnsafePointer<S>, current I: UnsafeMutablePointer<S>) {
        let B = batch, k0 = forwardStart[t], k1 = forwardStart[t + 1]
        for r in runStart[t]..<runStart[t + 1] {
            let lo = Int(runs[r].start) * B, hi = lo + Int(runs[r].length) * B
            var i = lo
            while i + 32 <= hi {
                var a0 = V.zero, a1 = V.zero, a2 = V.zero, a3 = V.zero
                for k in k0..<k1 {
                    let w = V(repeating: weights[Int(forwardGroup[k])])
                    let p = f + i + forwardOffset[k] * B
                    a0 = a0 + w * Self.load(p); a1 = a1 + w * Self.load(p + 8)
                    a2 = a2 + w * Self.load(p + 16); a3 = a3 + w * Self.load(p + 24)
                }
                Self.store(a0, I + i); Self.store(a1, I + i + 8); Self.store(a2, I + i + 16); Self.store(a3, I + i + 24)
                i += 32
            }
            while i + 8 <= hi {
                var a0 = V.zero
                for k in k0..<k1 { a0 = a0 + V(repeating: weights[Int(forwardGroup[k])]) * Self.load(f + i + forwardOffset[k] * B) }
                Self.store(a0, I + i)
                i += 8
            }
            while i < hi {
                var s: S = 0
                for k in k0..<k1 { s = s + weights[Int(forwardGroup[k])] * f[i + forwardOffset[k] * B] }
                I[i] = s
                i += 1
            }
        }
    }

    /// For source type `s`, one adjoint lane in the state's (cell, batch) layout: μ = Σ_terms
    /// w·δ(shifted) on every active cell of `s`, and dots[g] = Σ f·δ(shifted) for each of its
    /// groups (the weight gradient), sharing the loads of δ.
    func backward(type s: Int, f: UnsafePointer<S>, delta: UnsafePointer<S>, mu: UnsafeMutablePointer<S>,
                  dots: UnsafeMutablePointer<S>, scratch: UnsafeMutableRawPointer) {
        let B = batch, k0 = backwardStart[s], n = backwardStart[s + 1] - k0
        let sums = DotSums<S>(scratch, terms: n)
        for r in runStart[s]..<runStart[s + 1] {
            let lo = Int(runs[r].start) * B, hi = lo + Int(runs[r].length) * B
            var i = lo
            while i + 16 <= hi {
                let f0 = Self.load(f + i), f1 = Self.load(f + i + 8)
                var m0 = V.zero, m1 = V.zero
                for k in 0..<n {
                    let w = V(repeating: weights[Int(backwardGroup[k0 + k])]), o = i + backwardOffset[k0 + k] * B
                    let d0 = Self.load(delta + o), d1 = Self.load(delta + o + 8)
                    m0 = m0 + w * d0; m1 = m1 + w * d1
                    sums.vector[k] = sums.vector[k] + (f0 * d0 + f1 * d1)
                }
                Self.store(m0, mu + i); Self.store(m1, mu + i + 8)
                i += 16
            }
            while i < hi {
                var m: S = 0
                for k in 0..<n {
                    let o = i + backwardOffset[k0 + k] * B
                    m = m + weights[Int(backwardGroup[k0 + k])] * delta[o]
                    sums.scalar[k] = sums.scalar[k] + f[i] * delta[o]
                }
                mu[i] = m
                i += 1
            }
        }
        sums.finish(into: dots, groups: backwardGroup + k0)
    }

    /// `backward` for two lanes (the loss and the activity penalty) interleaved per cell as
    /// (cell, lane, batch): μ for both lanes in one sweep, the dots for the main lane only. The
    /// dots are summed exactly as `backward` sums them, so the main lane's gradients do not
    /// depend on whether the penalty lane runs.
    func backwardTwoLanes(type s: Int, f: UnsafePointer<S>, delta: UnsafePointer<S>, mu: UnsafeMutablePointer<S>,
                          dots: UnsafeMutablePointer<S>, scratch: UnsafeMutableRawPointer) {
        let k0 = backwardStart[s], n = backwardStart[s + 1] - k0
        let sums = DotSums<S>(scratch, terms: n)
        for r in runStart[s]..<runStart[s + 1] {
            let c0 = Int(runs[r].start), c1 = c0 + Int(runs[r].length)
            if batch == 4 {
                twoLanesOfFour(cells: c0..<c1, terms: k0..<(k0 + n), f: f, delta: delta, mu: mu, sums: sums)
            } else {
                twoLanesAnyBatch(cells: c0..<c1, terms: k0..<(k0 + n), f: f, delta: delta, mu: mu, sums: sums)
            }
        }
        sums.finish(into: dots, groups: backwardGroup + k0)
    }

    /// The reference batch of four: one vector holds both lanes of a cell, so four cells are
    /// four loads per term, and the main lane's halves of two of them make one vector of
    /// `backward`'s dot products.
    @inline(__always)
    private func twoLanesOfFour(cells: Range<Int>, terms: Range<Int>, f: UnsafePointer<S>, delta: UnsafePointer<S>,
                                mu: UnsafeMutablePointer<S>, sums: DotSums<S>) {
        let k0 = terms.lowerBound
        var c = cells.lowerBound
        while c + 4 <= cells.upperBound {
            let x = c * 8, f0 = Self.load(f + c * 4), f1 = Self.load(f + c * 4 + 8)
            var m0 = V.zero, m1 = V.zero, m2 = V.zero, m3 = V.zero
            for k in terms {
                let w = V(repeating: weights[Int(backwardGroup[k])]), p = delta + x + backwardOffset[k] * 8
                let d0 = Self.load(p), d1 = Self.load(p + 8), d2 = Self.load(p + 16), d3 = Self.load(p + 24)
                m0 = m0 + w * d0; m1 = m1 + w * d1; m2 = m2 + w * d2; m3 = m3 + w * d3
                let main0 = V(lowHalf: d0.lowHalf, highHalf: d1.lowHalf), main1 = V(lowHalf: d2.lowHalf, highHalf: d3.lowHalf)
                sums.vector[k - k0] = sums.vector[k - k0] + (f0 * main0 + f1 * main1)
            }
            Self.store(m0, mu + x); Self.store(m1, mu + x + 8); Self.store(m2, mu + x + 16); Self.store(m3, mu + x + 24)
            c += 4
        }
        while c < cells.upperBound {
            let x = c * 8
            var m = V.zero
            for k in terms {
                let p = delta + x + backwardOffset[k] * 8
                m = m + V(repeating: weights[Int(backwardGroup[k])]) * Self.load(p)
                for b in 0..<4 { sums.scalar[k - k0] = sums.scalar[k - k0] + f[c * 4 + b] * p[b] }
            }
            Self.store(m, mu + x)
            c += 1
        }
    }

    /// Any other batch: μ vector by vector over the interleaved cells, the main lane's dots
    /// from gathered vectors in `backward`'s blocks of 16 values.
    private func twoLanesAnyBatch(cells: Range<Int>, terms: Range<Int>, f: UnsafePointer<S>, delta: UnsafePointer<S>,
                                  mu: UnsafeMutablePointer<S>, sums: DotSums<S>) {
        let B = batch, W = 2 * batch, k0 = terms.lowerBound
        let hi = cells.upperBound * W
        var x = cells.lowerBound * W
        while x < hi {
            if x + 8 <= hi {
                var m = V.zero
                for k in terms { m = m + V(repeating: weights[Int(backwardGroup[k])]) * Self.load(delta + x + backwardOffset[k] * W) }
                Self.store(m, mu + x)
                x += 8
            } else {
                var m: S = 0
                for k in terms { m = m + weights[Int(backwardGroup[k])] * delta[x + backwardOffset[k] * W] }
                mu[x] = m
                x += 1
            }
        }
        // Main-lane value e of the run (cell-major, batch innermost) and its address.
        let count = cells.count * B, fRun = f + cells.lowerBound * B
        @inline(__always) func main(_ d: UnsafePointer<S>, _ e: Int) -> S { d[(e / B) * W + e % B] }
        for k in terms {
            let d = delta + cells.lowerBound * W + backwardOffset[k] * W
            var e = 0
            while e + 16 <= count {
                var d0 = V.zero, d1 = V.zero
                for j in 0..<8 { d0[j] = main(d, e + j); d1[j] = main(d, e + 8 + j) }
                sums.vector[k - k0] = sums.vector[k - k0] + (Self.load(fRun + e) * d0 + Self.load(fRun + e + 8) * d1)
                e += 16
            }
            while e < count {
                sums.scalar[k - k0] = sums.scalar[k - k0] + fRun[e] * main(d, e)
                e += 1
            }
        }
    }
}

/// Per-term partial sums of the weight-gradient dot products in a thread's scratch: a vector
/// for the blocks of 16 values and a scalar for the rest of each run.
struct DotSums<S: NetworkScalar> {
    let vector: UnsafeMutablePointer<SIMD8<S>>
    let scalar: UnsafeMutablePointer<S>
    let terms: Int

    init(_ scratch: UnsafeMutableRawPointer, terms n: Int) {
        vector = scratch.bindMemory(to: SIMD8<S>.self, capacity: max(n, 1))
        scalar = UnsafeMutablePointer<S>(OpaquePointer(vector + max(n, 1)))
        terms = n
        vector.initialize(repeating: .zero, count: n)
        scalar.initialize(repeating: 0, count: n)
    }

    /// dots[groups[k]] = the sum of term k.
    func finish(into dots: UnsafeMutablePointer<S>, groups: UnsafePointer<Int32>) {
        for k in 0..<terms { dots[Int(groups[k])] = vector[k].sum() + scalar[k] }
    }
}

/// Owns stable copies of the stencil tables (Swift arrays may move) and the per-thread type
/// ranges.
final class StencilStore {
    let tables: StencilTables
    private let runs: UnsafeMutablePointer<(start: Int32, length: Int32)>
    private let ints: [UnsafeMutablePointer<Int>]
    private let groups: [UnsafeMutablePointer<Int32>]
    let maxBackwardTerms: Int
    private(set) var forwardParts: [Range<Int>] = []
    private(set) var backwardParts: [Range<Int>] = []

    init(layout: NetworkLayout, groups g: [(sourceType: Int, targetType: Int, du: Int, dv: Int)]) {
        let t = StencilTables(layout: layout, groups: g)
        tables = t
        runs = .allocate(capacity: max(1, layout.activeRuns.count))
        runs.initialize(from: layout.activeRuns, count: layout.activeRuns.count)
        func copy<T>(_ a: [T]) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(1, a.count))
            p.initialize(from: a, count: a.count)
            return p
        }
        ints = [copy(t.runStart), copy(t.forwardStart), copy(t.forwardOffset), copy(t.backwardStart), copy(t.backwardOffset)]
        groups = [copy(t.forwardGroup), copy(t.backwardGroup)]
        maxBackwardTerms = (0..<(t.backwardStart.count - 1)).map { t.backwardStart[$0 + 1] - t.backwardStart[$0] }.max() ?? 0
        setThreads(1)
    }

    deinit {
        runs.deallocate()
        for p in ints { p.deallocate() }
        for p in groups { p.deallocate() }
    }

    func setThreads(_ n: Int) {
        forwardParts = tables.partition(parts: n, start: tables.forwardStart)
        backwardParts = tables.partition(parts: n, start: tables.backwardStart)
    }

    func kernel<S: NetworkScalar>(weights: UnsafePointer<S>, batch: Int) -> StencilKernel<S> {
        StencilKernel(runs: runs, runStart: ints[0], forwardStart: ints[1], forwardGroup: groups[0], forwardOffset: ints[2],
                      backwardStart: ints[3], backwardGroup: groups[1], backwardOffset: ints[4], weights: weights, batch: batch)
    }

    /// Bytes of backward scratch per thread for scalar type S.
    func scratchBytes<S: NetworkScalar>(_: S.Type) -> Int { max(1, maxBackwardTerms) * (MemoryLayout<SIMD8<S>>.stride + MemoryLayout<S>.stride) }
}
