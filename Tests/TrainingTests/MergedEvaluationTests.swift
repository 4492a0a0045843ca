import FlyvisConnectome
import FlyvisNetwork
import FlyvisRandom
import FlyvisTask
import Foundation
import Testing

@testable import FlyvisTraining

/// A checkpoint's validation runs consecutive batches together; each batch's losses must be
/// bit for bit those of running it alone (samples never interact in evaluation), with both
/// objectives and batch sizes that leave the decoder's eight-image vectors partly empty.
@Suite struct MergedEvaluationTests {
    @Test(arguments: [Objective.l2norm, .epe]) func mergedBatchesGiveEachBatchsOwnLosses(objective: Objective) throws {
        let c = try Connectome(extent: 4)
        let network = try Network(connectome: c)
        let decoder = try DecoderGAVP(lattice: c.lattice, inChannels: c.outputCellTypes.count, seed: 3)
        let penalizer = try Penalizer(activity: nil, activityParameters: [], parameterPenalties: [], learningRate: 1e-3)
        let step = TrainingStep(
            network: network, decoders: ["flow": decoder], objectives: ["flow": objective],
            weights: TaskWeights(tasks: ["flow"]), learningRates: (1e-3, 1e-3), penalizer: penalizer)
        let sizes = [1, 3, 2], T = 5, H = c.lattice.count
        var rng = RandomState(seed: 11)
        let samples = sizes.reduce(0, +)
        let lum = (0..<(samples * T * H)).map { _ in 0.2 + 0.6 * rng.uniformFloat() }
        let target = (0..<(samples * T * 2 * H)).map { _ in rng.uniformFloat() - 0.5 }
        let dt = 0.02, tPre = 0.1
        var alone: [[String: Double]] = []
        var first = 0
        for b in sizes {
            let steady = try network.steadyState(tPre: tPre, dt: dt, batch: b)
            let lumSlice = Array(lum[(first * T * H)..<((first + b) * T * H)])
            let targetSlice = Array(target[(first * T * 2 * H)..<((first + b) * T * 2 * H)])
            alone.append(
                try step.evaluate(
                    lum: lumSlice, targets: ["flow": targetSlice], batch: b, frames: T, dt: dt, steadyState: steady))
            first += b
        }
        let steady = try network.steadyState(tPre: tPre, dt: dt, batch: samples)
        let merged = try step.evaluate(
            lum: lum, targets: ["flow": target], batches: sizes, frames: T, dt: dt, steadyState: steady)
        #expect(merged.count == sizes.count)
        #expect(alone.allSatisfy { ($0["flow"] ?? .nan).isFinite && $0["flow"]! > 0 })
        #expect(merged == alone)
    }
}
