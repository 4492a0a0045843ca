import FlyvisConnectome
import Foundation

/// The flyvis network (PPNeuronIGRSynapses dynamics on the connectome) in Float32, with the
/// reference's simulation API and exact BPTT gradients.
package final class Network {
    package let connectome: Connectome
    package private(set) var parameters: NetworkParameters
    package let engine: NetworkEngine<Float>

    /// Worker threads for the per-step loops (results are bitwise independent of it).
    package var threads: Int {
        get { engine.threads }
        set { engine.threads = newValue }
    }

    /// The activation function; the scheduler moves a leaky ReLU's slope (`relu_leak`).
    package var activation: Activation {
        get { engine.activation }
        set { engine.activation = newValue }
    }

    package init(
        connectome: Connectome, parameters: NetworkParameters? = nil,
        activation: Activation = .relu
    ) throws {
        self.connectome = connectome
        self.parameters = try parameters ?? NetworkParameters(connectome: connectome)
        engine = NetworkEngine<Float>(connectome: connectome, activation: activation)
        let layout = engine.layout
        for (g, group) in connectome.groups.enumerated() where layout.edgeCount(group: g) != group.edgeCount {
            throw NetworkError.incompleteSynapseGroup(
                source: connectome.cellTypes[group.sourceType], target: connectome.cellTypes[group.targetType],
                du: group.du, dv: group.dv, edges: group.edgeCount, expected: layout.edgeCount(group: g))
        }
        engine.setParameters(self.parameters)
    }

    /// Replaces the parameters (clamped, as flyvis clamps before every forward).
    package func setParameters(_ p: NetworkParameters) {
        var p = p
        p.clamp()
        parameters = p
        engine.setParameters(p)
    }

    package var nodeCount: Int { connectome.nodeCount }
    package var hexCount: Int { connectome.lattice.count }

    static func checkDt(_ dt: Double) throws(NetworkError) {
        guard dt > 0, dt.isFinite else { throw .invalidTimeStep(dt) }
    }

    /// Steps for a duration, as Python's int(t / dt).
    static func steps(_ duration: Double, _ dt: Double) -> Int { Int((duration / dt).rounded(.towardZero)) }

    /// The most time steps one warm-up runs (a day of simulated time at flyvis's dt is 4.3e6).
    package static let maxSteps = 10_000_000

    /// Bytes `simulate` holds for a movie of `batch` × `frames` recording `recorded` nodes: the
    /// movie, the recorded activity, and the engine's chunk of states; nil when the count
    /// overflows. Callers compare it with the memory they may use before reading the movie.
    package func simulationBytes(batch: Int, frames: Int, recorded: Int, chunkFrames: Int = 200) -> Int? {
        func product(_ xs: [Int]) -> Int? {
            var p = 1
            for x in xs {
                let (r, o) = p.multipliedReportingOverflow(by: x)
                if o { return nil }
                p = r
            }
            return p
        }
        guard let movie = product([batch, frames, hexCount, 4]), let out = product([batch, frames, recorded, 4]),
            let engine = product([batch, min(frames, chunkFrames) + 2, nodeCount, 4])
        else { return nil }
        let (a, o1) = movie.addingReportingOverflow(out)
        let (b, o2) = a.addingReportingOverflow(engine)
        return o1 || o2 ? nil : b
    }

    /// The state after `tPre` seconds of uniform grey `value` on the photoreceptors, from
    /// v = bias (or `state`): flyvis's `steady_state`. Returns (B, N) values, or `state`
    /// unchanged when `tPre` ≤ 0.
    package func steadyState(
        tPre: Double, dt: Double, batch: Int, value: Float = 0.5,
        state: [Float]? = nil
    ) throws(NetworkError) -> [Float]? {
        try Self.checkDt(dt)
        guard batch >= 1 else { throw .invalidBatch(batch) }
        guard tPre.isFinite else { throw .invalidDuration(name: "t_pre", value: tPre) }
        guard tPre / dt <= Double(Self.maxSteps) else { throw .tooManySteps(name: "t_pre", duration: tPre, dt: dt, limit: Self.maxSteps) }
        let n = Self.steps(tPre, dt)
        guard tPre > 0, n > 0 else { return state }
        if state == nil && batch > 1 {
            // Every sample starts from the bias and sees the same grey: one sample is the
            // whole answer, bit for bit (each value's operations do not depend on the batch).
            let one = greyRun(engine: warmUpEngine(), frames: n, dt: dt, batch: 1, value: value)
            var out = [Float](repeating: 0, count: batch * nodeCount)
            for b in 0..<batch { out.replaceSubrange((b * nodeCount)..<((b + 1) * nodeCount), with: one) }
            return out
        }
        try prepare(batch: batch, frames: n, state: state)
        return greyRun(engine: engine, frames: n, dt: dt, batch: batch, value: value)
    }

    /// A batch-1 engine for the grey warm-ups of batched runs, kept apart so that the main
    /// engine's buffers keep their batch (resizing them would reallocate the whole history
    /// on every iteration). Created on first use; takes the main engine's parameters,
    /// activation and threads at every call.
    private var warmUp: NetworkEngine<Float>?

    private func warmUpEngine() -> NetworkEngine<Float> {
        let e = warmUp ?? NetworkEngine<Float>(sameNetworkAs: engine, connectome: connectome)
        warmUp = e
        e.activation = engine.activation
        e.threads = engine.threads
        e.setParameters(parameters)
        return e
    }

    /// Runs `frames` steps of uniform grey on a prepared `engine` from v = bias at batch 1,
    /// or from the state `prepare` set, and returns the last state as (B, N).
    private func greyRun(engine: NetworkEngine<Float>, frames: Int, dt: Double, batch: Int, value: Float) -> [Float] {
        if engine !== self.engine {
            engine.reserve(batch: batch, frames: frames)
            engine.setInitialStateToBias()
        }
        let grey = [Float](repeating: value, count: batch * hexCount)
        engine.forward(frames: frames, dt: Float(dt), forBackward: false) { _, into in
            grey.withUnsafeBufferPointer { into.update(from: $0.baseAddress!, count: $0.count) }
            return true
        }
        var out = [Float](repeating: 0, count: batch * nodeCount)
        out.withUnsafeMutableBufferPointer { engine.copyState(frame: frames - 1, into: $0.baseAddress!) }
        return out
    }

    private func prepare(batch: Int, frames: Int, state: [Float]?) throws(NetworkError) {
        engine.reserve(batch: batch, frames: max(frames, engine.batch == batch ? engine.capacityFrames : 0))
        if let state {
            guard state.count == batch * nodeCount else { throw .stateShape(expected: [batch, nodeCount], found: state.count) }
            state.withUnsafeBufferPointer { engine.setInitialState($0.baseAddress!) }
        } else {
            engine.setInitialStateToBias()
        }
    }

    /// Runs a movie (B, T, 1, hexals) from `state` (nil: v = bias) and keeps every step for a
    /// later `backward` (`forBackward: false`: every state, but not the drives a backward
    /// needs). Read results with `engine.value`/`copyState`.
    package func forward(
        movie: UnsafeBufferPointer<Float>, batch: Int, frames: Int, dt: Double,
        state: [Float]?, forBackward: Bool = true
    ) throws(NetworkError) {
        try Self.checkDt(dt)
        guard batch >= 1 else { throw .invalidBatch(batch) }
        guard movie.count == batch * frames * hexCount else {
            throw .stimulusShape(expected: [batch, frames, 1, hexCount], found: [movie.count])
        }
        try prepare(batch: batch, frames: frames, state: state)
        let hexCount = self.hexCount
        engine.forward(frames: frames, dt: Float(dt), forBackward: forBackward) { t, into in
            for b in 0..<batch {
                let src = movie.baseAddress! + (b * frames + t) * hexCount
                (into + b * hexCount).update(from: src, count: hexCount)
            }
            return true
        }
    }

    /// How `simulate` starts: flyvis's "auto" (1 s of grey), v = bias, or a given state.
    package enum InitialState: Sendable {
        case auto
        case bias
        case given([Float])
    }

    /// Which nodes `simulate` returns.
    package enum NodeSelection: Sendable, Equatable {
        case all
        case central
        case types([String])
        case nodes([Int])

        /// Parses the CLI form: "all", "central" or "T4a,T5a".
        package static func parse(_ s: String) -> NodeSelection {
            switch s {
            case "all": return .all
            case "central": return .central
            default: return .types(s.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) })
            }
        }
    }

    /// The node indices a selection stands for.
    package func nodeIndices(_ s: NodeSelection) throws(NetworkError) -> [Int] {
        switch s {
        case .all: return Array(0..<nodeCount)
        case .central: return connectome.centralCellsIndex
        case let .nodes(n): return n
        case let .types(names):
            var out: [Int] = []
            for name in names {
                guard let t = connectome.typeIndex(name) else { throw .unknownNodeSelection(name) }
                out += Array(connectome.layerIndex(t))
            }
            return out
        }
    }

    /// Simulates a movie (B, T, 1, hexals) in chunks of at most `chunkFrames`, so memory stays
    /// small on long stimuli, and returns the post-step activity (B, frames, nodes) of the
    /// selected nodes at the selected frames (default all).
    package func simulate(
        movie: [Float], batch: Int, frames: Int, dt: Double,
        initialState: InitialState = .auto, nodes: NodeSelection = .all,
        keepFrames: [Int]? = nil, chunkFrames: Int = 200
    ) throws(NetworkError) -> (values: [Float], nodes: [Int], frames: [Int]) {
        try Self.checkDt(dt)
        guard batch >= 1 else { throw .invalidBatch(batch) }
        guard movie.count == batch * frames * hexCount else {
            throw .stimulusShape(expected: [batch, frames, 1, hexCount], found: [movie.count])
        }
        let selected = try nodeIndices(nodes)
        let keep = keepFrames ?? Array(0..<frames)
        let keepSet = Dictionary(uniqueKeysWithValues: keep.enumerated().map { ($1, $0) })
        var state: [Float]?
        switch initialState {
        case .auto: state = try steadyState(tPre: 1.0, dt: dt, batch: batch)
        case .bias: state = nil
        case let .given(s): state = s
        }
        var out = [Float](repeating: 0, count: batch * keep.count * selected.count)
        var buffer = [Float](repeating: 0, count: batch * selected.count)
        var start = 0
        let hexCount = self.hexCount
        while start < frames {
            let n = min(chunkFrames, frames - start)
            try prepare(batch: batch, frames: n, state: state)
            engine.forward(frames: n, dt: Float(dt), forBackward: false) { t, into in
                for b in 0..<batch {
                    let src = (b * frames + start + t) * hexCount
                    movie.withUnsafeBufferPointer { (into + b * hexCount).update(from: $0.baseAddress! + src, count: hexCount) }
                }
                return true
            }
            for t in 0..<n {
                guard let k = keepSet[start + t] else { continue }
                buffer.withUnsafeMutableBufferPointer { engine.copyState(frame: t, nodes: selected, into: $0.baseAddress!) }
                for b in 0..<batch {
                    for j in 0..<selected.count {
                        out[(b * keep.count + k) * selected.count + j] = buffer[b * selected.count + j]
                    }
                }
            }
            var last = [Float](repeating: 0, count: batch * nodeCount)
            last.withUnsafeMutableBufferPointer { engine.copyState(frame: n - 1, into: $0.baseAddress!) }
            state = last
            start += n
        }
        return (out, selected, keep)
    }
}
