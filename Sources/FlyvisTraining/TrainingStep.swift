import FlyvisConnectome
import FlyvisNetwork
import Foundation

/// What one iteration reports (flyvis logs these per iteration).
package struct StepResult: Sendable, Equatable {
    package var loss: Double
    package var taskLosses: [String: Double]
    package var activityMean: Double
    package var activityMin: Double
    package var activityMax: Double
    package var penalty: Double?
}

/// One flyvis training iteration: from a given steady state, run the movie through the network,
/// decode each task, compute the weighted loss, backpropagate through decoder and network, take
/// the Adam step, then the penalty steps on the same forward activity, then clamp.
/// A class: it owns the network, decoders and optimizer state that persist across iterations.
package final class TrainingStep {
    package let network: Network
    package let tasks: [String]
    package var decoders: [String: FlowDecoder]
    package var objectives: [String: Objective]
    package var weights: TaskWeights
    package var adam: Adam
    package var penalizer: Penalizer

    let outputTypes: [Int]
    let hexCount: Int

    /// Wall seconds of each phase of the last `run` (forward, decoder, backward, update), for
    /// benchmarks and throughput logs.
    package private(set) var lastTimings: [String: Double] = [:]

    /// Adam parameter names: group 0 the network (flyvis's five, in order), group 1 the decoders.
    package static func decoderParameterName(task: String, _ name: String) -> String { "decoder/\(task)/\(name)" }

    package init(network: Network, decoders: [String: FlowDecoder], objectives: [String: Objective],
                weights: TaskWeights, learningRates: (network: Double, decoder: Double), penalizer: Penalizer) {
        self.network = network
        tasks = decoders.keys.sorted()
        self.decoders = decoders
        self.objectives = objectives
        self.weights = weights
        self.penalizer = penalizer
        let c = network.connectome
        outputTypes = c.outputCellTypes.compactMap { c.typeIndex($0) }
        hexCount = c.lattice.count
        let decoderNames = decoders.keys.sorted().flatMap { task in
            decoders[task]!.parameterNames.map { Self.decoderParameterName(task: task, $0) }
        }
        adam = Adam(groups: [NetworkParameters.names, decoderNames],
                    learningRates: [learningRates.network, learningRates.decoder])
    }

    /// Gathers the output types' activity after every frame as (B, T, types, hexals).
    func outputActivity(batch B: Int, frames T: Int) -> [Float] {
        let c = network.connectome, K = outputTypes.count, H = hexCount
        var out = [Float](repeating: 0, count: B * T * K * H)
        out.withUnsafeMutableBufferPointer { buf in
            for t in 0..<T {
                for (k, type) in outputTypes.enumerated() {
                    let range = c.layerIndex(type)
                    precondition(range.count == H, "output types must cover the whole lattice")
                    network.engine.copyState(frame: t, nodes: range, into: buf.baseAddress! + (t * K + k) * H, batchStride: T * K * H)
                }
            }
        }
        return out
    }

    /// Runs one training iteration. `lum` is (B, T, 1, hexals); `targets[task]` is (B, T, C, hexals).
    package func run(iteration: Int, lum: [Float], targets: [String: [Float]], batch B: Int, frames T: Int,
                    dt: Double, steadyState: [Float]?) throws -> StepResult {
        var clock = PhaseClock()
        try lum.withUnsafeBufferPointer { try network.forward(movie: $0, batch: B, frames: T, dt: dt, state: steadyState) }
        clock.lap("network_forward")
        let stats = network.engine.activityStatistics()
        let input = outputActivity(batch: B, frames: T)
        var total = 0.0
        var taskLosses: [String: Double] = [:]
        var gradInput: [Float] = []
        for task in tasks {
            let decoder = decoders[task]!
            decoder.training = true
            let out = try input.withUnsafeBufferPointer { try decoder.forward($0, batch: B, frames: T) }
            guard let target = targets[task], target.count == out.count else {
                throw TrainingConfigError.missing(key: "data.\(task)", why: "the batch has no target of \(out.count) values for task \(task)")
            }
            let (loss, grad) = objectives[task]!.evaluate(out, target, shape: [B, T, out.count / (B * T * hexCount), hexCount])
            let factor = weights.factor(task)
            taskLosses[task] = loss * factor
            total += loss * factor
            let scaled = factor == 1 ? grad : grad.map { $0 * Float(factor) }
            let gIn = scaled.withUnsafeBufferPointer { decoder.backward($0) }
            if gradInput.isEmpty {
                gradInput = gIn
            } else {
                gradInput.withUnsafeMutableBufferPointer { a in gIn.withUnsafeBufferPointer { b in
                    for i in 0..<a.count { a[i] += b[i] }
                } }
            }
        }
        if gradInput.isEmpty { gradInput = [Float](repeating: 0, count: input.count) }
        clock.lap("decoder_loss_fwd_bwd")
        // The penalty lane shares the forward and the backward sweep (bias gradient only).
        let usePenalty = penalizer.activityActive(at: iteration)
        let central = network.connectome.centralCellsIndex
        var penaltyValue: Double?
        var penaltyGrad: [Float] = []
        if usePenalty, let a = penalizer.activity {
            let engine = network.engine
            let r = a.evaluate(batch: B, frames: T, types: central.count) { b, t, k in engine.value(frame: t, node: central[k], batch: b) }
            penaltyValue = r.penalty
            penaltyGrad = r.gradient
        }
        let K = outputTypes.count, H = hexCount
        let c = network.connectome
        let grads = network.engine.backward(penaltyLane: usePenalty) { t, lane, sink in
            if lane == 0 {
                gradInput.withUnsafeBufferPointer { g in
                    for (k, type) in self.outputTypes.enumerated() {
                        sink.add(nodes: c.layerIndex(type), values: g.baseAddress! + (t * K + k) * H, batchStride: T * K * H)
                    }
                }
            } else {
                for b in 0..<B {
                    for (k, n) in central.enumerated() {
                        let g = penaltyGrad[(b * T + t) * central.count + k]
                        if g != 0 { sink(n, b, g) }
                    }
                }
            }
        }
        clock.lap("network_backward")
        defer { clock.lap("optimizer_penalty"); lastTimings = clock.phases }
        guard total.isFinite, stats.mean.isFinite else {
            return StepResult(loss: total, taskLosses: taskLosses, activityMean: stats.mean,
                              activityMin: Double(stats.min), activityMax: Double(stats.max), penalty: penaltyValue)
        }
        // Adam on the network (trainable parameters only) and the decoders.
        var p = network.parameters
        let networkGrads: [String: [Double]] = ["nodes_bias": grads.bias, "nodes_time_const": grads.timeConst,
                                                "edges_syn_strength": grads.synStrength]
        for name in NetworkParameters.names where p.requiresGrad(name) {
            guard let g = networkGrads[name] else { continue }
            var values = p[name]!
            adam.step(name, &values, g.map { Float($0) })
            try p.set(name, values)
        }
        for task in tasks {
            let decoder = decoders[task]!
            for name in decoder.parameterNames {
                let key = Self.decoderParameterName(task: task, name)
                _ = decoder.withParameter(name) { values, grad in adam.step(key, &values, grad) }
            }
        }
        // Penalty steps on the pre-update forward (as the reference), then the clamp.
        if let opt = penalizer.parameterOptimizer {
            var sgd = opt
            for pen in penalizer.parameterPenalties {
                guard var values = p[pen.parameter] else { continue }
                sgd.step(pen.parameter, &values, pen.evaluate(values).gradient)
                try p.set(pen.parameter, values)
            }
            penalizer.parameterOptimizer = sgd
            p.clamp()
        }
        if usePenalty, let gb = grads.penaltyBias {
            var bias = p.bias
            penalizer.activityOptimizer.step("nodes_bias", &bias, gb.map { Float($0) })
            try p.set("nodes_bias", bias)
        }
        network.setParameters(p)  // clamps
        return StepResult(loss: total, taskLosses: taskLosses, activityMean: stats.mean,
                          activityMin: Double(stats.min), activityMax: Double(stats.max), penalty: penaltyValue)
    }

    /// Evaluation without gradients in eval mode (BatchNorm running statistics, no dropout):
    /// per-task weighted losses for one batch.
    package func evaluate(lum: [Float], targets: [String: [Float]], batch B: Int, frames T: Int, dt: Double,
                         steadyState: [Float]?, objective override: Objective? = nil) throws -> [String: Double] {
        try lum.withUnsafeBufferPointer { try network.forward(movie: $0, batch: B, frames: T, dt: dt, state: steadyState) }
        let input = outputActivity(batch: B, frames: T)
        var losses: [String: Double] = [:]
        for task in tasks {
            let decoder = decoders[task]!
            let wasTraining = decoder.training
            decoder.training = false
            defer { decoder.training = wasTraining }
            let out = try input.withUnsafeBufferPointer { try decoder.forward($0, batch: B, frames: T) }
            guard let target = targets[task], target.count == out.count else {
                throw TrainingConfigError.missing(key: "data.\(task)", why: "the batch has no target for task \(task)")
            }
            let objective = override ?? objectives[task]!
            losses[task] = objective.evaluate(out, target, shape: [B, T, out.count / (B * T * hexCount), hexCount]).loss * weights.factor(task)
        }
        return losses
    }
}

/// Accumulates wall time per named phase.
struct PhaseClock {
    var phases: [String: Double] = [:]
    var last = DispatchTime.now().uptimeNanoseconds
    mutating func lap(_ name: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        phases[name, default: 0] += Double(now - last) / 1e9
        last = now
    }
}
