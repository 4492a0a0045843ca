import FlyvisBase
import FlyvisConnectome
import FlyvisNetwork
import FlyvisTask
import Foundation

/// One flyvis training iteration: from a given steady state, run the movie through the network,
/// decode each task, compute the weighted loss, backpropagate through decoder and network, take
/// the Adam step, then the penalty steps on the same forward activity, then clamp.
/// A class: it owns the network, decoders and optimizer state that persist across iterations.
package final class TrainingStep {
    package let network: Network
    package let tasks: [String]
    package var decoders: [String: DecoderGAVP]
    package var objectives: [String: Objective]
    package var weights: TaskWeights
    package var adam: Adam<TrainedParameter>
    package var penalizer: Penalizer

    let outputTypes: [Int]
    let hexCount: Int

    /// Wall seconds of each phase of the last `run` (forward, decoder, backward, update), for
    /// benchmarks and throughput logs.
    package private(set) var lastTimings: [String: Double] = [:]

    package init(
        network: Network, decoders: [String: DecoderGAVP], objectives: [String: Objective],
        weights: TaskWeights, learningRates: (network: Double, decoder: Double), penalizer: Penalizer
    ) {
        self.network = network
        tasks = decoders.keys.sorted()
        self.decoders = decoders
        self.objectives = objectives
        self.weights = weights
        self.penalizer = penalizer
        let c = network.connectome
        outputTypes = c.outputCellTypes.compactMap { c.typeIndex($0) }
        hexCount = c.lattice.count
        // Group 0 the network (flyvis's five, in order), group 1 the decoders: torch's ids.
        let decoderParameters = decoders.keys.sorted().flatMap { task in
            decoders[task]!.parameterNames.map { TrainedParameter.decoder(task: task, name: $0) }
        }
        adam = Adam(
            groups: [ParameterName.allCases.map(TrainedParameter.network), decoderParameters],
            learningRates: [learningRates.network, learningRates.decoder])
    }

    /// The last `outputActivity` of each size, whose storage the next call of that size reuses
    /// once its caller has let go of it: a fresh 16 MB array per iteration (the reference size)
    /// was zeroed and page-faulted in every time, and checkpoints alternate batch sizes.
    private var activityBuffers: [Int: [Float]] = [:]

    /// Gathers the output types' activity after every frame as (B, T, types, hexals).
    func outputActivity(batch B: Int, frames T: Int) -> [Float] {
        let c = network.connectome, K = outputTypes.count, H = hexCount
        let count = B * T * K * H
        // Every element is written below.
        var out = activityBuffers.removeValue(forKey: count) ?? [Float](repeating: 0, count: count)
        defer { activityBuffers[count] = out }
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
    package func run(
        iteration: Int, lum: [Float], targets: [String: [Float]], batch B: Int, frames T: Int,
        dt: Double, steadyState: [Float]?
    ) throws -> StepResult {
        var clock = PhaseClock()
        try lum.withUnsafeBufferPointer { try network.forward(movie: $0, batch: B, frames: T, dt: dt, state: steadyState) }
        clock.lap("network_forward")
        let stats = network.engine.activityStatistics()
        let decoded = try decodeAndBackpropagate(targets: targets, batch: B, frames: T)
        clock.lap("decoder_loss_fwd_bwd")
        // The penalty lane shares the forward and the backward sweep (bias gradient only).
        let usePenalty = penalizer.activityActive(at: iteration)
        let penalty = usePenalty ? activityPenalty(batch: B, frames: T) : nil
        let grads = backpropagateNetwork(
            outputGradient: decoded.gradInput, penaltyGradient: penalty?.gradient,
            batch: B, frames: T)
        clock.lap("network_backward")
        defer { clock.lap("optimizer_penalty"); lastTimings = clock.phases }
        let result = StepResult(
            loss: decoded.total, taskLosses: decoded.taskLosses, activityMean: stats.mean,
            activityMin: Double(stats.min), activityMax: Double(stats.max), penalty: penalty?.value)
        // An exploded step is reported without touching the parameters.
        guard decoded.total.isFinite, stats.mean.isFinite else { return result }
        update(grads)
        return result
    }

    /// Decodes the output activity for every task, evaluates the weighted losses and
    /// backpropagates them through the decoders: the summed gradient at the decoders' input.
    func decodeAndBackpropagate(
        targets: [String: [Float]], batch B: Int, frames T: Int
    ) throws
        -> (total: Double, taskLosses: [String: Double], gradInput: [Float])
    {
        let input = outputActivity(batch: B, frames: T)
        var total = 0.0
        var taskLosses: [String: Double] = [:]
        var gradInput: [Float] = []
        for task in tasks {
            let decoder = decoders[task]!
            decoder.training = true
            let out = try input.withUnsafeBufferPointer { try decoder.forward($0, batch: B, frames: T) }
            guard let target = targets[task], target.count == out.count else {
                throw TrainingConfigError.missing(
                    key: "data.\(task)", why: "the batch has no target of \(out.count) values for task \(task)")
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
                gradInput.withUnsafeMutableBufferPointer { a in
                    gIn.withUnsafeBufferPointer { b in
                        for i in 0..<a.count { a[i] += b[i] }
                    }
                }
            }
        }
        if gradInput.isEmpty { gradInput = [Float](repeating: 0, count: input.count) }
        return (total, taskLosses, gradInput)
    }

    /// The activity penalty on the central cells of the last forward, and its gradient per
    /// (batch, frame, central cell).
    func activityPenalty(batch B: Int, frames T: Int) -> (value: Double, gradient: [Float])? {
        guard let a = penalizer.activity else { return nil }
        let engine = network.engine
        let central = network.connectome.centralCellsIndex
        let r = a.evaluate(batch: B, frames: T, types: central.count) { b, t, k in engine.value(frame: t, node: central[k], batch: b) }
        return (r.penalty, r.gradient)
    }

    /// The backward sweep through time: lane 0 carries the decoders' input gradient into the
    /// output types, lane 1 (when the penalty is active) the penalty's gradient into the
    /// central cells.
    func backpropagateNetwork(
        outputGradient gradInput: [Float], penaltyGradient: [Float]?,
        batch B: Int, frames T: Int
    ) -> NetworkGradients {
        let K = outputTypes.count, H = hexCount
        let c = network.connectome
        let central = c.centralCellsIndex
        return network.engine.backward(penaltyLane: penaltyGradient != nil) { t, lane, sink in
            if lane == 0 {
                gradInput.withUnsafeBufferPointer { g in
                    for (k, type) in self.outputTypes.enumerated() {
                        sink.add(nodes: c.layerIndex(type), values: g.baseAddress! + (t * K + k) * H, batchStride: T * K * H)
                    }
                }
            } else if let penaltyGradient {
                for b in 0..<B {
                    for (k, n) in central.enumerated() {
                        let g = penaltyGradient[(b * T + t) * central.count + k]
                        if g != 0 { sink(n, b, g) }
                    }
                }
            }
        }
    }

    /// Adam on the trainable network parameters and the decoders, then the parameter
    /// penalties' SGD on the pre-update forward (as the reference does), the activity
    /// penalty's SGD on the bias, and the clamp.
    func update(_ grads: NetworkGradients) {
        var p = network.parameters
        let networkGrads: [ParameterName: [Double]] = [
            .bias: grads.bias, .timeConst: grads.timeConst,
            .synStrength: grads.synStrength,
        ]
        for name in ParameterName.allCases where p.requiresGrad(name) {
            guard let g = networkGrads[name] else { continue }
            adam.step(.network(name), &p[name], g.map { Float($0) })
        }
        for task in tasks {
            let decoder = decoders[task]!
            for name in decoder.parameterNames {
                _ = decoder.withParameter(name) { values, grad in adam.step(.decoder(task: task, name: name), &values, grad) }
            }
        }
        if var sgd = penalizer.parameterOptimizer {
            for pen in penalizer.parameterPenalties {
                sgd.step(pen.parameter, &p[pen.parameter], pen.evaluate(p[pen.parameter]).gradient)
            }
            penalizer.parameterOptimizer = sgd
            p.clamp()
        }
        if let gb = grads.penaltyBias {
            penalizer.activityOptimizer.step(.bias, &p[.bias], gb.map { Float($0) })
        }
        network.setParameters(p)  // clamps
    }

    /// Evaluation without gradients in eval mode (BatchNorm running statistics, no dropout):
    /// per-task weighted losses for one batch.
    package func evaluate(
        lum: [Float], targets: [String: [Float]], batch B: Int, frames T: Int, dt: Double,
        steadyState: [Float]?, objective override: Objective? = nil
    ) throws -> [String: Double] {
        try evaluate(
            lum: lum, targets: targets, batches: [B], frames: T, dt: dt, steadyState: steadyState,
            objective: override)[0]
    }

    /// `evaluate` of consecutive batches (`batches` holds their sizes; `lum` and `targets` their
    /// samples in order) in one run of the network and the decoders, and each batch's losses
    /// from its slice of the output. In evaluation samples never interact (the network and
    /// eval-mode decoders compute every value of a sample by the same operations whatever
    /// the batch), so each batch's losses are bit for bit those of running it alone, and a
    /// checkpoint's validation at batch 1 fills the decoder's eight-image vectors.
    package func evaluate(
        lum: [Float], targets: [String: [Float]], batches: [Int], frames T: Int, dt: Double,
        steadyState: [Float]?, objective override: Objective? = nil
    ) throws -> [[String: Double]] {
        let B = batches.reduce(0, +)
        try lum.withUnsafeBufferPointer {
            try network.forward(movie: $0, batch: B, frames: T, dt: dt, state: steadyState, forBackward: false)
        }
        let input = outputActivity(batch: B, frames: T)
        var losses = [[String: Double]](repeating: [:], count: batches.count)
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
            let perSample = out.count / B, channels = perSample / (T * hexCount)
            out.withUnsafeBufferPointer { o in
                target.withUnsafeBufferPointer { y in
                    var first = 0
                    for (k, b) in batches.enumerated() {
                        let start = first * perSample, count = b * perSample
                        let loss = objective.loss(
                            UnsafeBufferPointer(rebasing: o[start..<(start + count)]),
                            UnsafeBufferPointer(rebasing: y[start..<(start + count)]), shape: [b, T, channels, hexCount])
                        losses[k][task] = loss * weights.factor(task)
                        first += b
                    }
                }
            }
        }
        return losses
    }
}
