import FlyvisConnectome

/// The stencil loops over raw copies of the tables, shared read-only by worker threads.
struct StencilKernel<S: NetworkScalar>: @unchecked Sendable {
    typealias V = SIMD8<S>
    let spanStart: UnsafePointer<Int>, spanCell: UnsafePointer<Int32>, spanValues: UnsafePointer<Int32>
    let forwardStart: UnsafePointer<Int>, forwardOffset: UnsafePointer<Int>
    let edgeStart: UnsafePointer<Int>, edgeType: UnsafePointer<Int32>, edgeTermStart: UnsafePointer<Int>
    /// Offsets in values at the kernel's batch: `forwardOffset` and `backwardOffset` × B,
    /// `backwardOffsetTwoLanes` × 2B (StencilStore scales them once per batch).
    let backwardOffset: UnsafePointer<Int>, backwardOffsetTwoLanes: UnsafePointer<Int>
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
    /// over the terms in flyvis's group order, each product rounded before it is added (no
    /// fused multiply-add), as torch's scatter_add of the edge currents does. Blocks of 64
    /// values (eight addition chains per term), then 32 and 16 at a span's end: the same
    /// operations per value whatever the block.
    func forward(type t: Int, f: UnsafePointer<S>, current I: UnsafeMutablePointer<S>) {
        let k0 = forwardStart[t], k1 = forwardStart[t + 1], w = weights.forward
        forEachSpan(t) { lo, hi in
            var i = lo
            while i &+ 64 <= hi {
                var a0 = V.zero, a1 = V.zero, a2 = V.zero, a3 = V.zero, a4 = V.zero, a5 = V.zero, a6 = V.zero, a7 = V.zero
                for k in k0..<k1 {
                    let wk = V(repeating: w[k]), p = f + (i &+ forwardOffset[k])
                    a0 += wk * Self.load(p); a1 += wk * Self.load(p + 8)
                    a2 += wk * Self.load(p + 16); a3 += wk * Self.load(p + 24)
                    a4 += wk * Self.load(p + 32); a5 += wk * Self.load(p + 40)
                    a6 += wk * Self.load(p + 48); a7 += wk * Self.load(p + 56)
                }
                Self.store(a0, I + i); Self.store(a1, I + i + 8); Self.store(a2, I + i + 16); Self.store(a3, I + i + 24)
                Self.store(a4, I + i + 32); Self.store(a5, I + i + 40); Self.store(a6, I + i + 48); Self.store(a7, I + i + 56)
                i &+= 64
            }
            while i &+ 32 <= hi {
                var a0 = V.zero, a1 = V.zero, a2 = V.zero, a3 = V.zero
                for k in k0..<k1 {
                    let wk = V(repeating: w[k]), p = f + (i &+ forwardOffset[k])
                    a0 += wk * Self.load(p); a1 += wk * Self.load(p + 8)
                    a2 += wk * Self.load(p + 16); a3 += wk * Self.load(p + 24)
                }
                Self.store(a0, I + i); Self.store(a1, I + i + 8); Self.store(a2, I + i + 16); Self.store(a3, I + i + 24)
                i &+= 32
            }
            if i < hi {  // spans are whole blocks of 16
                var a0 = V.zero, a1 = V.zero
                for k in k0..<k1 {
                    let wk = V(repeating: w[k]), p = f + (i &+ forwardOffset[k])
                    a0 += wk * Self.load(p); a1 += wk * Self.load(p + 8)
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
    func backward(
        type s: Int, f: UnsafePointer<S>, delta: UnsafePointer<S>, mu: UnsafeMutablePointer<S>,
        dots: UnsafeMutablePointer<S>, scratch: UnsafeMutableRawPointer,
        reluUpdate c: S? = nil, lambda: UnsafeMutablePointer<S>? = nil
    ) {
        let e0 = edgeStart[s], e1 = edgeStart[s + 1], scale = weights.scale, strength = weights.strength
        let sums = DotSums<S>(scratch, edges: e1 - e0)
        forEachSpan(s) { lo, hi in
            var i = lo
            while i < hi {
                let f0 = Self.load(f + i), f1 = Self.load(f + i + 8)
                var m0 = V.zero, m1 = V.zero
                for e in e0..<e1 {
                    var n0 = V.zero, n1 = V.zero
                    for k in edgeTermStart[e]..<edgeTermStart[e + 1] {
                        let a = V(repeating: scale[k]), p = delta + (i &+ backwardOffset[k])
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
    func backwardTwoLanes(
        type s: Int, f: UnsafePointer<S>, delta: UnsafePointer<S>, mu: UnsafeMutablePointer<S>,
        dots: UnsafeMutablePointer<S>, scratch: UnsafeMutableRawPointer,
        reluUpdate c: S? = nil, lambda: UnsafeMutablePointer<S>? = nil
    ) {
        let e0 = edgeStart[s], e1 = edgeStart[s + 1]
        let sums = DotSums<S>(scratch, edges: e1 - e0)
        forEachSpan(s) { lo, hi in
            if batch == 4 {
                twoLanesOfFour(
                    cells: (lo / 4)..<(hi / 4), edges: e0..<e1, f: f, delta: delta, mu: mu, sums: sums,
                    reluUpdate: c, lambda: lambda)
            } else {
                twoLanesAnyBatch(
                    values: lo..<hi, edges: e0..<e1, f: f, delta: delta, mu: mu, sums: sums,
                    nu: sums.spare.assumingMemoryBound(to: S.self))
            }
        }
        sums.finish(into: dots, edgeTypes: edgeType + e0)
    }

    /// The reference batch of four: one vector holds both lanes of a cell, and the main lane's
    /// halves of two cells make one of `backward`'s vectors. Blocks of eight cells (eight
    /// independent multiply-add chains per term, which the four-cycle FMA latency needs), and
    /// a block of four at the end of a span (spans are whole blocks of four cells). Per cell the
    /// operations are those of a block of four, and the dots take the cells four by four in
    /// order, so the block size does not change the results.
    @inline(__always)
    private func twoLanesOfFour(
        cells: Range<Int>, edges: Range<Int>, f: UnsafePointer<S>, delta: UnsafePointer<S>,
        mu: UnsafeMutablePointer<S>, sums: DotSums<S>, reluUpdate: S?, lambda: UnsafeMutablePointer<S>?
    ) {
        let e0 = edges.lowerBound, scale = weights.scale, strength = weights.strength
        var c = cells.lowerBound
        while c &+ 8 <= cells.upperBound {
            let x = c &* 8, fp = f + c &* 4
            var m0 = V.zero, m1 = V.zero, m2 = V.zero, m3 = V.zero, m4 = V.zero, m5 = V.zero, m6 = V.zero, m7 = V.zero
            for e in edges {
                var n0 = V.zero, n1 = V.zero, n2 = V.zero, n3 = V.zero, n4 = V.zero, n5 = V.zero, n6 = V.zero, n7 = V.zero
                for k in edgeTermStart[e]..<edgeTermStart[e + 1] {
                    let a = V(repeating: scale[k]), p = delta + (x &+ backwardOffsetTwoLanes[k])
                    n0 = n0.addingProduct(a, Self.load(p)); n1 = n1.addingProduct(a, Self.load(p + 8))
                    n2 = n2.addingProduct(a, Self.load(p + 16)); n3 = n3.addingProduct(a, Self.load(p + 24))
                    n4 = n4.addingProduct(a, Self.load(p + 32)); n5 = n5.addingProduct(a, Self.load(p + 40))
                    n6 = n6.addingProduct(a, Self.load(p + 48)); n7 = n7.addingProduct(a, Self.load(p + 56))
                }
                let w = V(repeating: strength[e])
                m0 = m0.addingProduct(w, n0); m1 = m1.addingProduct(w, n1)
                m2 = m2.addingProduct(w, n2); m3 = m3.addingProduct(w, n3)
                m4 = m4.addingProduct(w, n4); m5 = m5.addingProduct(w, n5)
                m6 = m6.addingProduct(w, n6); m7 = m7.addingProduct(w, n7)
                sums.vector[e &- e0] = sums.vector[e &- e0]
                    .addingProduct(Self.load(fp), Self.main(n0, n1)).addingProduct(Self.load(fp + 8), Self.main(n2, n3))
                    .addingProduct(Self.load(fp + 16), Self.main(n4, n5)).addingProduct(Self.load(fp + 24), Self.main(n6, n7))
            }
            finishCells(m0, m1, m2, m3, at: x, f: fp, mu: mu, reluUpdate: reluUpdate, lambda: lambda)
            finishCells(m4, m5, m6, m7, at: x &+ 32, f: fp + 16, mu: mu, reluUpdate: reluUpdate, lambda: lambda)
            c &+= 8
        }
        if c < cells.upperBound {
            let x = c &* 8, fp = f + c &* 4
            var m0 = V.zero, m1 = V.zero, m2 = V.zero, m3 = V.zero
            for e in edges {
                var n0 = V.zero, n1 = V.zero, n2 = V.zero, n3 = V.zero
                for k in edgeTermStart[e]..<edgeTermStart[e + 1] {
                    let a = V(repeating: scale[k]), p = delta + (x &+ backwardOffsetTwoLanes[k])
                    n0 = n0.addingProduct(a, Self.load(p)); n1 = n1.addingProduct(a, Self.load(p + 8))
                    n2 = n2.addingProduct(a, Self.load(p + 16)); n3 = n3.addingProduct(a, Self.load(p + 24))
                }
                let w = V(repeating: strength[e])
                m0 = m0.addingProduct(w, n0); m1 = m1.addingProduct(w, n1)
                m2 = m2.addingProduct(w, n2); m3 = m3.addingProduct(w, n3)
                sums.vector[e &- e0] = sums.vector[e &- e0]
                    .addingProduct(Self.load(fp), Self.main(n0, n1)).addingProduct(Self.load(fp + 8), Self.main(n2, n3))
            }
            finishCells(m0, m1, m2, m3, at: x, f: fp, mu: mu, reluUpdate: reluUpdate, lambda: lambda)
        }
    }

    /// The main lane (first four values) of two cells' vectors, as one of `backward`'s vectors.
    @inline(__always)
    private static func main(_ a: V, _ b: V) -> V { V(lowHalf: a.lowHalf, highHalf: b.lowHalf) }

    /// μ of four cells (both lanes, at value `x`) into `mu`, or with ReLU λ ← c·λ + f'(v)·μ in
    /// place, both lanes of a cell gated by its f'(v) = [f > 0] (`f`: the cells' 16 values).
    @inline(__always)
    private func finishCells(
        _ m0: V, _ m1: V, _ m2: V, _ m3: V, at x: Int, f: UnsafePointer<S>, mu: UnsafeMutablePointer<S>,
        reluUpdate: S?, lambda: UnsafeMutablePointer<S>?
    ) {
        if let k = reluUpdate, let lambda {
            let kv = V(repeating: k), l = lambda + x, f0 = Self.load(f), f1 = Self.load(f + 8)
            Self.store(S.reluAdjoint(kv, Self.load(l), m0, gate: V(lowHalf: f0.lowHalf, highHalf: f0.lowHalf)), l)
            Self.store(S.reluAdjoint(kv, Self.load(l + 8), m1, gate: V(lowHalf: f0.highHalf, highHalf: f0.highHalf)), l + 8)
            Self.store(S.reluAdjoint(kv, Self.load(l + 16), m2, gate: V(lowHalf: f1.lowHalf, highHalf: f1.lowHalf)), l + 16)
            Self.store(S.reluAdjoint(kv, Self.load(l + 24), m3, gate: V(lowHalf: f1.highHalf, highHalf: f1.highHalf)), l + 24)
        } else {
            Self.store(m0, mu + x); Self.store(m1, mu + x + 8); Self.store(m2, mu + x + 16); Self.store(m3, mu + x + 24)
        }
    }

    /// Any other batch: per edge type, ν of both lanes into `nu` (value by value, as `backward`
    /// computes each), μ accumulated in memory, and the main lane's dots from gathered vectors
    /// in `backward`'s blocks of 16 values.
    private func twoLanesAnyBatch(
        values: Range<Int>, edges: Range<Int>, f: UnsafePointer<S>, delta: UnsafePointer<S>,
        mu: UnsafeMutablePointer<S>, sums: DotSums<S>, nu: UnsafeMutablePointer<S>
    ) {
        let B = batch, W = 2 * batch, e0 = edges.lowerBound, scale = weights.scale, strength = weights.strength
        let firstCell = values.lowerBound / B, cells = (values.count + B - 1) / B
        let x0 = firstCell * W, count = cells * W
        (mu + x0).update(repeating: 0, count: count)
        for e in edges {
            nu.update(repeating: 0, count: count)
            for k in edgeTermStart[e]..<edgeTermStart[e + 1] {
                let a = scale[k], d = delta + x0 + backwardOffsetTwoLanes[k]
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
