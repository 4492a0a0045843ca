import FlyvisBase
import FlyvisNetwork
import FlyvisTask
import FlyvisTraining
import Foundation

/// Times one whole training iteration as the solver runs it (forward from the epoch's grey
/// steady state, decoder with dropout, l2norm, backward, Adam, activity penalty, clamp), for
/// `bench`: median ms of the iteration and of each phase. The steady state is timed as its own
/// phase but not counted in the iteration: flyvis's solver, like ours, computes it once per
/// epoch, and the PyTorch workload (scripts/bench_reference.py) leaves it out too.
package enum IterationBenchmark {
    package struct Result: Sendable {
        package var iterationMs: Double
        package var phasesMs: [String: Double]
        /// The modelled DRAM traffic of one iteration (see `MemoryTraffic`).
        package var traffic: MemoryTraffic
    }

    /// Where a caller joins the loop: a node-throughput child reports ready after the warm-up,
    /// reports its times after the timed repetitions, then keeps iterating (untimed) while its
    /// neighbours are still timing. The defaults run the repetitions alone.
    package struct Hooks {
        /// After the warm-up iteration, before the first timed one.
        package var warmedUp: () throws -> Void = {}
        /// After the last timed repetition, with every repetition's time in ms.
        package var timed: ([Double]) throws -> Void = { _ in }
        /// Checked between iterations after the timed ones: true runs one more, untimed.
        package var keepRunning: () -> Bool = { false }

        package init() {}
    }

    package static func run(
        network: Network, batch: Int, frames: Int, repetitions: Int, threads: Int, hooks: Hooks = Hooks()
    ) throws -> Result {
        let c = network.connectome
        let flow = TaskName.flow.rawValue
        let decoder = try DecoderGAVP(lattice: c.lattice, inChannels: c.outputCellTypes.count)
        decoder.threads = threads
        let penalizer = try Penalizer(
            activity: ActivityPenalty(
                weight: 0.1, baseline: 5, stopIter: 150_000,
                belowBaselineWeight: 1, aboveBaselineWeight: 0.1),
            activityParameters: [.bias], parameterPenalties: [], learningRate: 5e-5)
        let step = TrainingStep(
            network: network, decoders: [flow: decoder], objectives: [flow: .l2norm],
            weights: TaskWeights(tasks: [flow]), learningRates: (5e-5, 5e-5), penalizer: penalizer)
        var rng = SystemRandomNumberGenerator()
        let lum = (0..<(batch * frames * c.lattice.count)).map { _ in Float.random(in: 0.2...0.8, using: &rng) }
        let target = (0..<(batch * frames * 2 * c.lattice.count)).map { _ in Float.random(in: -0.1...0.1, using: &rng) }
        var totals: [Double] = []
        var phases: [String: [Double]] = [:]
        var rep = 0
        while rep <= repetitions || hooks.keepRunning() {
            defer { rep += 1 }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let steady = try network.steadyState(tPre: 0.5, dt: 0.02, batch: batch)
            let t1 = DispatchTime.now().uptimeNanoseconds
            _ = try step.run(
                iteration: rep, lum: lum, targets: [flow: target], batch: batch, frames: frames,
                dt: 0.02, steadyState: steady)
            let t2 = DispatchTime.now().uptimeNanoseconds
            if rep == 0 { try hooks.warmedUp() }
            guard rep > 0, rep <= repetitions else { continue }  // the first repetition warms caches and allocates buffers
            totals.append(Double(t2 - t1) / 1e6)
            phases["steady_state", default: []].append(Double(t1 - t0) / 1e6)
            for (k, v) in step.lastTimings { phases[k, default: []].append(v * 1e3) }
            if rep == repetitions { try hooks.timed(totals) }
        }
        let activity = batch * frames * c.outputCellTypes.count * c.lattice.count * MemoryLayout<Float>.stride
        let traffic = MemoryTraffic(
            history: network.engine.historyBytes, decoder: decoder.bufferBytes, activity: 2 * activity,
            movie: lum.count * MemoryLayout<Float>.stride)
        return Result(iterationMs: median(totals), phasesMs: phases.mapValues(median), traffic: traffic)
    }
}
