import FlyvisBase
import FlyvisConnectome
import Foundation

/// The recurrent network in the padded per-type layout (see `NetworkLayout`). Owns its
/// buffers, which are sized once per (batch, frames) and reused, so a time step allocates
/// nothing. A class because the buffers are large and shared across calls.
package final class NetworkEngine<S: NetworkScalar> {
    package let layout: NetworkLayout
    package let nodeCount: Int
    package var activation: Activation
    let nodeType: [Int32]
    let inputTypes: [Int]
    let hexCell: [Int32]  // hexal → cell within a type map
    let groupEdgeType: [Int32]
    let typeIsInput: [Bool]

    // Parameters in S precision.
    package private(set) var bias: [S] = []
    package private(set) var timeConst: [S] = []
    package private(set) var weights: [S] = []  // per group: sign·exp(count)·strength
    private var groupScale: [S] = []  // per group: sign·exp(count) (dw/dstrength)
    private let edgeTypeCount: Int

    // Buffers.
    package private(set) var batch = 0
    package private(set) var capacityFrames = 0
    package private(set) var frames = 0
    private(set) var dt: S = 0
    private var mapSize = 0  // totalCells · batch
    private var stateSize = 0  // nodeCount · batch
    // The history, in node order (node, batch) without the maps' padding (most of a map).
    private var states: UnsafeMutablePointer<S>?  // (capacity + 1) states
    private var drive: UnsafeMutablePointer<S>?  // capacity states: A_t = -v + b + I + x
    private var act: UnsafeMutablePointer<S>?  // 1 map
    private var current: UnsafeMutablePointer<S>?  // 1 map
    private var input: UnsafeMutablePointer<S>?  // one type map (cells · batch), shared by R1–R8
    // The backward's adjoints, each with room for two lanes interleaved per cell (see
    // `BackwardSweep.width`): λ = ∂L/∂(state after a frame), δ = k·λ = ∂L/∂(that frame's
    // drive), μ = Wᵀδ = ∂L/∂f(state before it).
    private var lambda: UnsafeMutablePointer<S>?
    private var delta: UnsafeMutablePointer<S>?
    private var mu: UnsafeMutablePointer<S>?
    package private(set) var startedFromBias = false

    /// Worker threads for the recurrent products (1 per MPI rank by default; the benchmark
    /// and single-process runs may use more). Work is split by target type in the forward
    /// and by source type in the backward, so threads never write the same map.
    package var threads = 1 {
        didSet {
            threads = max(1, threads)
            stencil.setThreads(threads)
        }
    }
    /// The recurrent product's per-type stencil tables (see Stencil.swift).
    private let stencil: StencilStore
    /// Stable copies of the parameters in the kernels' term orders (arrays may move).
    private let kernelWeights: StencilWeights<S>

    package convenience init(connectome c: Connectome, activation: Activation = .relu) {
        let layout = NetworkLayout(connectome: c)
        let stencil = StencilStore(layout: layout, groups: c.groups.map { ($0.sourceType, $0.targetType, $0.du, $0.dv, $0.edgeType) })
        self.init(connectome: c, layout: layout, tables: stencil.tables, activation: activation)
    }

    /// An engine on the same connectome as `other` (sharing its layout and tables, which take
    /// longer to build than a warm-up runs), with no buffers and no parameters yet.
    package convenience init(sameNetworkAs other: NetworkEngine<S>, connectome c: Connectome) {
        self.init(connectome: c, layout: other.layout, tables: other.stencil.tables, activation: other.activation)
    }

    private init(connectome c: Connectome, layout: NetworkLayout, tables: StencilTables, activation: Activation) {
        self.layout = layout
        nodeCount = c.nodeCount
        self.activation = activation
        nodeType = c.nodeType
        inputTypes = c.inputCellTypes.compactMap { c.typeIndex($0) }
        typeIsInput = (0..<c.cellTypes.count).map { t in c.inputCellTypes.contains(c.cellTypes[t]) }
        let l = layout
        hexCell = (0..<c.lattice.count).map { h in
            Int32((c.lattice.u[h] + l.extent + l.pad) * l.side + (c.lattice.v[h] + l.extent + l.pad))
        }
        groupEdgeType = c.groups.map { Int32($0.edgeType) }
        stencil = StencilStore(layout: layout, tables: tables)
        edgeTypeCount = stencil.tables.edgeTypes
        func zeroed(_ n: Int) -> UnsafeMutablePointer<S> {
            let p = UnsafeMutablePointer<S>.allocate(capacity: max(1, n))
            p.initialize(repeating: 0, count: max(1, n))
            return p
        }
        kernelWeights = StencilWeights(
            forward: zeroed(c.groups.count), scale: zeroed(c.groups.count),
            strength: zeroed(stencil.tables.edgeType.count))
    }

    deinit {
        release()
        for p in [kernelWeights.forward, kernelWeights.scale, kernelWeights.strength] { p.deallocate() }
    }

    private func release() {
        for p in [states, drive, act, current, input, lambda, delta, mu] { p?.deallocate() }
        states = nil; drive = nil; act = nil; current = nil; input = nil; lambda = nil; delta = nil; mu = nil
        allocated = (0, 0, 0, 0)
    }

    /// Loads parameter values (applying the clamp the reference applies at every forward).
    package func setParameters(_ p: NetworkParameters) {
        var p = p
        p.clamp()
        bias = p.bias.map { S($0) }
        timeConst = p.timeConst.map { S($0) }
        groupScale = (0..<groupEdgeType.count).map { g in
            let et = Int(groupEdgeType[g])
            // In float32, as the reference: (sign · exp(raw count)) · strength.
            return S(p.sign[et]) * S.exponential(S(p.synCount[g]))
        }
        let strength = p.synStrength.map { S($0) }
        weights = (0..<groupEdgeType.count).map { g in groupScale[g] * strength[Int(groupEdgeType[g])] }
        storeKernelWeights(strength: strength)
    }

    /// Loads parameters given in this engine's precision (used by Double gradient checks).
    package func setParameters(bias: [S], timeConst: [S], sign: [S], synCount: [S], synStrength: [S]) {
        self.bias = bias
        self.timeConst = timeConst
        groupScale = (0..<groupEdgeType.count).map { g in sign[Int(groupEdgeType[g])] * S.exponential(synCount[g]) }
        weights = (0..<groupEdgeType.count).map { g in groupScale[g] * synStrength[Int(groupEdgeType[g])] }
        storeKernelWeights(strength: synStrength)
    }

    /// Copies the weights, scales and strengths into the kernels' term orders.
    private func storeKernelWeights(strength: [S]) {
        let t = stencil.tables
        for (k, g) in t.forwardGroup.enumerated() { kernelWeights.forward[k] = weights[Int(g)] }
        for (k, g) in t.backwardGroup.enumerated() { kernelWeights.scale[k] = groupScale[Int(g)] }
        for (e, et) in t.edgeType.enumerated() { kernelWeights.strength[e] = strength[Int(et)] }
    }

    /// Elements allocated per buffer: the history (states, drive), one map, one type map.
    private var allocated = (states: 0, drive: 0, map: 0, input: 0)

    /// Sizes the buffers for a batch and a number of frames (no-op if they already fit).
    /// Buffers that hold enough elements are kept when the batch changes (validation runs at
    /// batch 1 between training batches of 4: reallocating page-faulted tens of megabytes in
    /// at every switch); new ones are sized for the larger of the two shapes.
    package func reserve(batch b: Int, frames t: Int) {
        if b == batch && t <= capacityFrames && states != nil { return }
        stencil.prepare(batch: b)
        let frames = max(t, 1)
        let map = stencil.spans.mapCells * b  // the maps and the slack the spans reach into
        let state = nodeCount * b, typeMap = layout.cellsPerType * b
        let fits =
            states != nil && state * (frames + 1) <= allocated.states && state * frames <= allocated.drive
            && map <= allocated.map && typeMap <= allocated.input
        if !fits {
            let keep = states == nil ? (states: 0, drive: 0, map: 0, input: 0) : allocated
            release()
            allocated = (
                max(keep.states, state * (frames + 1)), max(keep.drive, state * frames), max(keep.map, map),
                max(keep.input, typeMap)
            )
            // Cache-line aligned: the kernels load whole cells (2·B values) at a time.
            func zeroed(_ n: Int) -> UnsafeMutablePointer<S> { AlignedBuffer<S>.allocateZeroed(n) }
            states = zeroed(allocated.states)
            drive = zeroed(allocated.drive)
            act = zeroed(allocated.map)
            current = zeroed(allocated.map)
            input = zeroed(allocated.input)
            lambda = zeroed(2 * allocated.map)
            delta = zeroed(2 * allocated.map)
            mu = zeroed(2 * allocated.map)
        } else {
            // Another batch puts cells at other places: the maps' padding and missing cells,
            // which the kernels read as zeros, may hold the last batch's values. (λ and δ are
            // cleared by every backward.)
            act!.update(repeating: 0, count: allocated.map)
            current!.update(repeating: 0, count: allocated.map)
            input!.update(repeating: 0, count: allocated.input)
        }
        batch = b
        mapSize = map
        stateSize = state
        capacityFrames = min(allocated.states / state - 1, allocated.drive / state)
    }

    /// Bytes of the history the last forward wrote and a backward reads: the states before and
    /// after every frame and every frame's drive (the maps are L2- and L3-sized and are not
    /// counted).
    package var historyBytes: Int { (2 * frames + 1) * stateSize * MemoryLayout<S>.stride }

    // MARK: Forward

    /// Sets the state before frame 0 to v = bias (flyvis's default initial state).
    package func setInitialStateToBias() {
        let v = states!, B = batch
        for n in 0..<nodeCount {
            let b = bias[Int(nodeType[n])]
            for i in (n * B)..<((n + 1) * B) { v[i] = b }
        }
        startedFromBias = true
    }

    /// Sets the state before frame 0 from node-order values (B, N); the state is treated as
    /// detached (no gradient flows into it), like flyvis's steady states.
    package func setInitialState(_ nodeValues: UnsafePointer<S>) {
        let v = states!
        let B = batch
        for n in 0..<nodeCount {
            for b in 0..<B { v[n * B + b] = nodeValues[b * nodeCount + n] }
        }
        startedFromBias = false
    }

    /// Whether the last forward kept every frame's drive, which the backward needs.
    private var driveRecorded = false

    /// Runs `frameCount` Euler steps. `stimulus(t, into)` may write the luminance of frame t as
    /// (B, hexals) into `into` and return true, or return false for no input; every input type
    /// (R1–R8) receives the same luminance, as in flyvis. `forBackward` keeps every frame's
    /// drive for a `backward`; evaluation and simulation, which never run one, pass false.
    @_specialize(exported:true,where S == Float)
    @_specialize(exported:true,where S == Double)
    package func forward(
        frames frameCount: Int, dt: S, forBackward: Bool = true,
        stimulus: (Int, UnsafeMutablePointer<S>) -> Bool
    ) {
        precondition(frameCount <= capacityFrames, "reserve(batch:frames:) first")
        frames = frameCount
        self.dt = dt
        driveRecorded = forBackward
        let B = batch
        let hexCount = hexCell.count
        let lum = UnsafeMutablePointer<S>.allocate(capacity: B * hexCount)
        defer { lum.deallocate() }
        for t in 0..<frameCount {
            let v = states! + t * stateSize
            let vNext = states! + (t + 1) * stateSize
            // Without a backward to come, every frame's drive goes to the first slot, which
            // stays in cache: half the history's memory traffic.
            let a = drive! + (forBackward ? t : 0) * stateSize
            let hasInput = stimulus(t, lum)
            if hasInput {
                let x = input!
                for h in 0..<hexCount {
                    let c = Int(hexCell[h]) * B
                    for b in 0..<B { x[c + b] = lum[b * hexCount + h] }
                }
            }
            step(v: v, next: vNext, drive: a, hasInput: hasInput)
        }
    }

    /// Calls `body(type, first cell, length, first node)` for every run of node cells.
    @inline(__always)
    private func forEachActiveRun(_ body: (Int, Int, Int, Int) -> Void) {
        let runs = layout.activeRuns, types = layout.activeRunType, nodes = layout.activeRunNode
        for r in 0..<runs.count { body(Int(types[r]), Int(runs[r].start), Int(runs[r].length), Int(nodes[r])) }
    }

    /// Calls `body(first, end, node)` for each run of node cells of one type: its cells (batch
    /// not included) and its first node. `runs`, `runNode` and `runStart` are the layout's and
    /// the stencil tables' arrays, passed in so that worker threads do not touch the engine's
    /// properties.
    @inline(__always)
    private func forEachRun(
        ofType type: Int, _ runs: [(start: Int32, length: Int32)], _ runNode: [Int32], _ runStart: [Int],
        _ body: (Int, Int, Int) -> Void
    ) {
        for r in runStart[type]..<runStart[type + 1] {
            let first = Int(runs[r].start)
            body(first, first + Int(runs[r].length), Int(runNode[r]))
        }
    }

    /// f[i] = activation(v[i]) for i in 0..<count.
    @inline(__always)
    private static func activate(
        _ activation: Activation, _ v: UnsafeMutablePointer<S>, into f: UnsafeMutablePointer<S>,
        count: Int
    ) {
        if case .relu = activation {
            for i in 0..<count { let z = v[i]; f[i] = z < 0 ? 0 : z }  // NaN stays NaN, as in torch
        } else {
            for i in 0..<count { f[i] = activation.value(v[i]) }
        }
    }

    /// One Euler step: I = W·f(v); A = -v + b + I + x; v' = v + dt·A / max(τ, dt).
    private func step(
        v: UnsafeMutablePointer<S>, next: UnsafeMutablePointer<S>, drive A: UnsafeMutablePointer<S>,
        hasInput: Bool
    ) {
        let B = batch
        let f = act!, I = current!, x = input!
        let activation = self.activation
        let runs = layout.activeRuns, runNode = layout.activeRunNode, runStart = stencil.tables.runStart
        let parts = stencil.forwardParts
        // f(v) on node cells (everything else stays zero), split by type.
        parallel(parts.count) { part in
            for type in parts[part] {
                forEachRun(ofType: type, runs, runNode, runStart) { c0, c1, n0 in
                    Self.activate(activation, v + n0 * B, into: f + c0 * B, count: (c1 - c0) * B)
                }
            }
        }
        // Per target type: I = Σ_g w_g · shift(f_source) (one stencil), then the Euler update
        // with the reference's operation order.
        let work: StencilKernel<S> = stencil.kernel(weights: kernelWeights)
        let dt = self.dt, cellsPerType = layout.cellsPerType
        let bias = self.bias, timeConst = self.timeConst, typeIsInput = self.typeIsInput
        parallel(parts.count) { part in
            for type in parts[part] {
                work.forward(type: type, f: f, current: I)
                let b = bias[type]
                let inv = 1 / max(timeConst[type], dt)
                forEachRun(ofType: type, runs, runNode, runStart) { c0, c1, n0 in
                    // The run in the history (node order) and in the maps (cells).
                    let v = v + n0 * B, next = next + n0 * B, A = A + n0 * B, I = I + c0 * B, count = (c1 - c0) * B
                    if hasInput && typeIsInput[type] {
                        let x = x + (c0 - type * cellsPerType) * B  // x holds one type map
                        for i in 0..<count {
                            let drive = ((-v[i] + b) + I[i]) + x[i]
                            A[i] = drive
                            next[i] = v[i] + (inv * drive) * dt
                        }
                    } else {
                        for i in 0..<count {
                            let drive = (-v[i] + b) + I[i]
                            A[i] = drive
                            next[i] = v[i] + (inv * drive) * dt
                        }
                    }
                }
            }
        }
    }

    // MARK: Reading activity

    /// Mean, minimum and maximum of the activity over all nodes of frames 0..<frames (what the
    /// solver logs per iteration).
    @_specialize(exported:true,where S == Float)
    package func activityStatistics() -> (mean: Double, min: S, max: S) {
        typealias V = SIMD8<S>
        var sum = 0.0
        var lo = V(repeating: .infinity), hi = V(repeating: -.infinity)
        var loTail = S.infinity, hiTail = -S.infinity
        let B = batch
        for t in 0..<frames {
            let v = states! + (t + 1) * stateSize
            forEachActiveRun { _, _, length, node in
                // Eight partial sums per run: a sequential float sum does not vectorise, and
                // this pass reads the whole history (29 MB at the reference workload).
                var s = V.zero, tail: S = 0
                var i = node * B
                let end = (node + length) * B
                while i + 8 <= end {
                    let x = UnsafeRawPointer(v + i).loadUnaligned(as: V.self)
                    s += x
                    // Per concrete type: the generic pointwiseMin/Max were calls per vector
                    // (5 ms per iteration), generic masked selects worse.
                    S.lanewiseMinMax(&lo, &hi, x)
                    i += 8
                }
                while i < end {
                    let x = v[i]
                    tail += x
                    loTail = Swift.min(loTail, x)
                    hiTail = Swift.max(hiTail, x)
                    i += 1
                }
                sum += Double(s.sum() + tail)
            }
        }
        return (sum / Double(max(1, frames * nodeCount * B)), Swift.min(lo.min(), loTail), Swift.max(hi.max(), hiTail))
    }

    /// The state after frame `t` (t = -1: the initial state), for node `n` and batch `b`.
    @inline(__always)
    @_specialize(exported:true,where S == Float)
    package func value(frame t: Int, node n: Int, batch b: Int) -> S {
        states![(t + 1) * stateSize + n * batch + b]
    }

    /// Copies the state after frame `t` (t = -1: initial) for all nodes, as (B, N).
    package func copyState(frame t: Int, into out: UnsafeMutablePointer<S>) {
        let v = states! + (t + 1) * stateSize
        let B = batch
        for n in 0..<nodeCount {
            for b in 0..<B { out[b * nodeCount + n] = v[n * B + b] }
        }
    }

    /// Copies the state after frame `t` of a contiguous node range (e.g. all output types) into
    /// `out[b · batchStride + (n − nodes.lowerBound)]`. At the batch of four, four nodes at a
    /// time: their 16 contiguous values transposed into one vector per batch element (the
    /// strided scalar loop cost 6.5 ms per training iteration for the decoders' input).
    @_specialize(exported:true,where S == Float)
    package func copyState(frame t: Int, nodes: Range<Int>, into out: UnsafeMutablePointer<S>, batchStride: Int) {
        typealias V = SIMD4<S>
        let v = states! + (t + 1) * stateSize
        let B = batch
        var n = nodes.lowerBound
        if B == 4 {
            @inline(__always) func load(_ p: UnsafePointer<S>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
            while n + 4 <= nodes.upperBound {
                let p = v + n * 4, a = load(p), b = load(p + 4), c = load(p + 8), d = load(p + 12)
                let o = out + (n - nodes.lowerBound)
                for i in 0..<4 {
                    UnsafeMutableRawPointer(o + i * batchStride).storeBytes(of: V(a[i], b[i], c[i], d[i]), as: V.self)
                }
                n += 4
            }
        }
        while n < nodes.upperBound {
            let j = n - nodes.lowerBound
            for b in 0..<B { out[b * batchStride + j] = v[n * B + b] }
            n += 1
        }
    }

    /// Copies the state after frame `t` for the given nodes, as (B, nodes.count).
    package func copyState(frame t: Int, nodes: [Int], into out: UnsafeMutablePointer<S>) {
        let v = states! + (t + 1) * stateSize
        let B = batch
        for (j, n) in nodes.enumerated() {
            for b in 0..<B { out[b * nodes.count + j] = v[n * B + b] }
        }
    }

    // MARK: Backward

    /// Exact BPTT through the last forward. `cotangent(t, lane, add)` is called for every frame
    /// from last to first and lane 0 (the loss) and, if `penaltyLane`, lane 1 (a second loss
    /// whose gradient is needed for the bias only); it calls `add(node, batch, value)` for
    /// each non-zero ∂L/∂(activity after frame t). The initial state is detached unless the
    /// forward started from the bias (then its gradient goes to the bias, as in flyvis).
    ///
    /// Each frame runs three phases: the cotangents into λ, `scaleAdjoints` (δ and the bias and
    /// time-constant sums) and `propagateAdjoints` (the transposed stencil and the new λ).
    @_specialize(exported:true,where S == Float)
    @_specialize(exported:true,where S == Double)
    package func backward(
        penaltyLane: Bool = false,
        cotangent: (Int, Int, CotangentSink<S>) -> Void
    ) -> NetworkGradients {
        precondition(driveRecorded, "backward needs a forward with forBackward: true")
        let sweep = BackwardSweep<S>(
            lanes: penaltyLane ? 2 : 1, batch: batch, dt: dt, timeConst: timeConst,
            edgeTypes: edgeTypeCount, parts: stencil.backwardParts.count,
            scratchBytes: stencil.scratchBytes(S.self))
        lambda!.update(repeating: 0, count: sweep.lanes * mapSize)
        // The stencil reads δ's padding as zeros; with the other lane count, the last backward
        // wrote values there.
        delta!.update(repeating: 0, count: sweep.lanes * mapSize)
        for t in stride(from: frames - 1, through: 0, by: -1) {
            addCotangents(frame: t, sweep, cotangent)
            scaleAdjoints(frame: t, sweep)
            propagateAdjoints(frame: t, sweep)
        }
        return gradients(sweep)
    }

    /// Adds every lane's ∂L/∂(activity after frame t) into λ.
    private func addCotangents(frame t: Int, _ sweep: BackwardSweep<S>, _ cotangent: (Int, Int, CotangentSink<S>) -> Void) {
        let lambda = self.lambda!, B = batch
        layout.nodeCell.withUnsafeBufferPointer { cells in
            for lane in 0..<sweep.lanes {
                cotangent(
                    t, lane,
                    CotangentSink(
                        lambda: lambda + lane * B, nodeCell: cells.baseAddress!, batch: B,
                        cellStride: sweep.width))
            }
        }
    }

    /// Per source type (each owned by one thread): δ = k·λ in every lane, the bias sums (Σ δ per
    /// lane) and the time-constant sum (main lane), and f(v_t) for the transposed stencil.
    private func scaleAdjoints(frame t: Int, _ sweep: BackwardSweep<S>) {
        let v = states! + t * stateSize, A = drive! + t * stateSize, f = act!
        let lambda = self.lambda!, delta = self.delta!
        let B = batch, W = sweep.width, lanes = sweep.lanes, types = layout.types
        let activation = self.activation
        let runs = layout.activeRuns, runNode = layout.activeRunNode, runStart = stencil.tables.runStart
        let parts = stencil.backwardParts
        parallel(parts.count) { part in
            for type in parts[part] {
                let k = sweep.k[type], tc = sweep.tauCoefficient[type]
                forEachRun(ofType: type, runs, runNode, runStart) { c0, c1, n0 in
                    let sums = Self.scaleRun(
                        k, lambda + c0 * W, into: delta + c0 * W, drive: A + n0 * B,
                        cells: c1 - c0, batch: B, lanes: lanes)
                    sweep.biasSums[type] += Double(sums.main)
                    if lanes == 2 { sweep.biasSums[types + type] += Double(sums.penalty) }
                    if tc != 0 { sweep.tauSums[type] += Double(sums.tau * tc) }
                    Self.activate(activation, v + n0 * B, into: f + c0 * B, count: (c1 - c0) * B)
                }
            }
        }
    }

    /// δ = k·λ on one run of cells, and its sums: Σ δ per lane and Σ λ·A (main lane). The main
    /// lane's sums use eight partial sums over its values in order (cell-major, batch innermost)
    /// and a scalar tail, whatever the lane count, so that they are bitwise those of one lane.
    @inline(__always)
    private static func scaleRun(
        _ k: S, _ lambda: UnsafeMutablePointer<S>, into delta: UnsafeMutablePointer<S>,
        drive A: UnsafePointer<S>, cells: Int, batch B: Int, lanes: Int
    )
        -> (main: S, penalty: S, tau: S)
    {
        typealias V = SIMD8<S>
        @inline(__always) func load(_ p: UnsafePointer<S>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        @inline(__always) func store(_ v: V, _ p: UnsafeMutablePointer<S>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }
        let kv = V(repeating: k), count = cells * B, W = lanes * B
        var main = V.zero, penalty = V.zero, tau = V.zero
        var mainTail: S = 0, penaltyTail: S = 0, tauTail: S = 0
        var i = 0
        if lanes == 1 {
            while i + 8 <= count {
                let l = load(lambda + i), d = kv * l
                store(d, delta + i)
                main += d
                tau = tau.addingProduct(l, load(A + i))
                i += 8
            }
        } else if B == 4 {  // two cells are two vectors, each with both lanes
            while i + 8 <= count {
                let x = 2 * i, l0 = load(lambda + x), l1 = load(lambda + x + 8), d0 = kv * l0, d1 = kv * l1
                store(d0, delta + x); store(d1, delta + x + 8)
                main += V(lowHalf: d0.lowHalf, highHalf: d1.lowHalf)
                penalty += V(lowHalf: d0.highHalf, highHalf: d1.highHalf)
                tau = tau.addingProduct(V(lowHalf: l0.lowHalf, highHalf: l1.lowHalf), load(A + i))
                i += 8
            }
        } else {  // any other batch: δ value by value, the sums from gathered vectors
            for j in 0..<(cells * W) { delta[j] = k * lambda[j] }
            @inline(__always) func at(_ e: Int, lane: Int) -> Int { (e / B) * W + lane * B + e % B }
            while i + 8 <= count {
                var d = V.zero, l = V.zero, p = V.zero
                for j in 0..<8 { d[j] = delta[at(i + j, lane: 0)]; l[j] = lambda[at(i + j, lane: 0)]; p[j] = delta[at(i + j, lane: 1)] }
                main += d
                penalty += p
                tau = tau.addingProduct(l, load(A + i))
                i += 8
            }
        }
        // The tail: the last values of the main lane (and the penalty lane's of their cells).
        while i < count {
            let x = (i / B) * W + i % B, d = k * lambda[x]
            delta[x] = d
            mainTail += d
            tauTail = tauTail.addingProduct(lambda[x], A[i])
            if lanes == 2 {
                let dp = k * lambda[x + B]
                delta[x + B] = dp
                penaltyTail += dp
            }
            i += 1
        }
        return (main.sum() + mainTail, penalty.sum() + penaltyTail, tau.sum() + tauTail)
    }

    /// Per source type: μ = Wᵀδ in every lane with the main lane's strength-gradient dot products,
    /// in one transposed stencil sweep, then λ ← (1 − k)·λ + f'(v_t)·μ. The stencil of one type
    /// reads only δ and f, which `scaleAdjoints` has finished for all types.
    private func propagateAdjoints(frame t: Int, _ sweep: BackwardSweep<S>) {
        let v = states! + t * stateSize, f = act!
        let lambda = self.lambda!, delta = self.delta!, mu = self.mu!
        let B = batch, W = sweep.width, lanes = sweep.lanes
        let activation = self.activation
        let kernel: StencilKernel<S> = stencil.kernel(weights: kernelWeights)
        let runs = layout.activeRuns, runNode = layout.activeRunNode, runStart = stencil.tables.runStart
        let parts = stencil.backwardParts
        // With ReLU the kernels update λ themselves, block by block (lanes == 2: at B = 4).
        var fused = false
        if case .relu = activation { fused = lanes == 1 || B == 4 }
        parallel(parts.count) { part in
            for type in parts[part] {
                let c = sweep.oneMinusK[type]
                if lanes == 2 {
                    kernel.backwardTwoLanes(
                        type: type, f: f, delta: delta, mu: mu, dots: sweep.dots, scratch: sweep.scratch[part],
                        reluUpdate: fused ? c : nil, lambda: lambda)
                } else {
                    kernel.backward(
                        type: type, f: f, delta: delta, mu: mu, dots: sweep.dots, scratch: sweep.scratch[part],
                        reluUpdate: fused ? c : nil, lambda: lambda)
                }
                if fused { continue }
                forEachRun(ofType: type, runs, runNode, runStart) { c0, c1, n0 in
                    if lanes == 1 {
                        Self.updateLambda(activation, c, lambda + c0 * B, mu + c0 * B, v + n0 * B, count: (c1 - c0) * B)
                    } else if B == 4 {
                        Self.updateLambdaTwoLanesOfFour(activation, c, lambda + c0 * W, mu + c0 * W, v + n0 * B, cells: c1 - c0)
                    } else {
                        for cell in 0..<(c1 - c0) {
                            for lane in 0..<2 {
                                let x = (c0 + cell) * W + lane * B
                                Self.updateLambda(activation, c, lambda + x, mu + x, v + (n0 + cell) * B, count: B)
                            }
                        }
                    }
                }
            }
        }
        for e in 0..<sweep.weightGradient.count { sweep.weightGradient[e] += Double(sweep.dots[e]) }
    }

    /// λ[i] ← c·λ[i] + f'(v[i])·μ[i] for i in 0..<count.
    @inline(__always)
    private static func updateLambda(
        _ activation: Activation, _ c: S, _ lam: UnsafeMutablePointer<S>,
        _ mu: UnsafeMutablePointer<S>, _ v: UnsafeMutablePointer<S>, count: Int
    ) {
        if case .relu = activation {
            for i in 0..<count { lam[i] = c * lam[i] + (v[i] > 0 ? mu[i] : 0) }
        } else {
            for i in 0..<count { lam[i] = c * lam[i] + activation.derivative(v[i]) * mu[i] }
        }
    }

    /// `updateLambda` on a run of cells with two lanes of four: both lanes of a cell use its
    /// f'(v), with the same operations per value as one lane. (Plain loops of eight: SIMD
    /// comparisons on a generic scalar compile to element-by-element mask building.)
    @inline(__always)
    private static func updateLambdaTwoLanesOfFour(
        _ activation: Activation, _ c: S, _ lam: UnsafeMutablePointer<S>,
        _ mu: UnsafeMutablePointer<S>, _ v: UnsafeMutablePointer<S>, cells: Int
    ) {
        if case .relu = activation {
            for cell in 0..<cells {
                let l = lam + 8 * cell, m = mu + 8 * cell, x = v + 4 * cell
                for j in 0..<8 { l[j] = c * l[j] + (x[j & 3] > 0 ? m[j] : 0) }
            }
        } else {
            for cell in 0..<cells {
                let l = lam + 8 * cell, m = mu + 8 * cell, x = v + 4 * cell
                for b in 0..<4 {
                    let d = activation.derivative(x[b])
                    l[b] = c * l[b] + d * m[b]
                    l[b + 4] = c * l[b + 4] + d * m[b + 4]
                }
            }
        }
    }

    /// The gradients from the sweep's sums. A forward started from the bias also passes the
    /// initial state's adjoint (the final λ) to the bias.
    private func gradients(_ sweep: BackwardSweep<S>) -> NetworkGradients {
        let types = layout.types, B = batch, W = sweep.width
        var bias = (0..<sweep.lanes).map { lane in (0..<types).map { sweep.biasSums[lane * types + $0] } }
        if startedFromBias {
            let lambda = self.lambda!
            for lane in 0..<sweep.lanes {
                forEachActiveRun { type, start, length, _ in
                    var s: S = 0
                    for cell in start..<(start + length) { for b in 0..<B { s += lambda[cell * W + lane * B + b] } }
                    bias[lane][type] += Double(s)
                }
            }
        }
        return NetworkGradients(
            bias: bias[0], timeConst: (0..<types).map { sweep.tauSums[$0] }, synStrength: sweep.weightGradient,
            penaltyBias: sweep.lanes == 2 ? bias[1] : nil)
    }
}

/// One backward's per-type coefficients and raw gradient accumulators (raw, so that threads
/// owning different types can add to them).
private final class BackwardSweep<S: NetworkScalar> {
    /// Adjoint lanes, and values per cell in the adjoint maps (lanes · batch).
    let lanes: Int, width: Int
    /// Per type: k = dt / max(τ, dt), 1 − k, and ∂v'/∂τ / A: -dt/τ² where τ > dt, half that
    /// where τ == dt (torch's max subgradient), 0 below.
    let k: [S], oneMinusK: [S], tauCoefficient: [S]
    /// Per lane and type: Σ δ over all frames.
    let biasSums: UnsafeMutablePointer<Double>
    /// Per type: Σ λ·A·∂v'/∂τ over all frames (main lane).
    let tauSums: UnsafeMutablePointer<Double>
    /// Per edge type: this frame's Σ f·ν (see Stencil.swift), and its sum over frames: the
    /// strength gradient.
    let dots: UnsafeMutablePointer<S>
    var weightGradient: [Double]
    /// Per thread: the stencil's scratch.
    let scratch: [UnsafeMutableRawPointer]

    init(lanes: Int, batch: Int, dt: S, timeConst: [S], edgeTypes: Int, parts: Int, scratchBytes: Int) {
        self.lanes = lanes
        width = lanes * batch
        k = timeConst.map { dt / max($0, dt) }
        oneMinusK = k.map { 1 - $0 }
        tauCoefficient = timeConst.map { tau in tau > dt ? -dt / (tau * tau) : (tau == dt ? -dt / (tau * tau) / 2 : 0) }
        let types = timeConst.count
        biasSums = .allocate(capacity: lanes * types)
        biasSums.initialize(repeating: 0, count: lanes * types)
        tauSums = .allocate(capacity: types)
        tauSums.initialize(repeating: 0, count: types)
        dots = .allocate(capacity: max(1, edgeTypes))
        dots.initialize(repeating: 0, count: max(1, edgeTypes))
        weightGradient = [Double](repeating: 0, count: edgeTypes)
        scratch = (0..<parts).map { _ in UnsafeMutableRawPointer.allocate(byteCount: scratchBytes, alignment: 64) }
    }

    deinit {
        biasSums.deallocate(); tauSums.deallocate(); dots.deallocate()
        for p in scratch { p.deallocate() }
    }
}
