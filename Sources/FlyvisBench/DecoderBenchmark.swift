import FlyvisHex
import FlyvisNetwork
import FlyvisRandom
import FlyvisTask
import Foundation

/// Times the decoder forward and backward at a given size (median ms), for `bench`.
package enum DecoderBenchmark {
    package static func run(
        lattice: HexLattice, inChannels: Int, batch: Int, frames: Int,
        repetitions: Int, threads: Int = 1
    ) throws -> (
        forwardMs: Double, backwardMs: Double, phasesMs: [String: Double],
        convolutionFlops: Double
    ) {
        let d = try DecoderGAVP(lattice: lattice, inChannels: inChannels)
        d.threads = threads
        var rng = RandomState(seed: 1)
        let input = (0..<(batch * frames * inChannels * lattice.count)).map { _ in rng.uniformFloat() - 0.2 }
        let grad = (0..<(batch * frames * 2 * lattice.count)).map { _ in rng.uniformFloat() - 0.5 }
        var f: [Double] = [], b: [Double] = [], phases: [String: [Double]] = [:]
        for rep in 0...repetitions {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try input.withUnsafeBufferPointer { try d.forward($0, batch: batch, frames: frames) }
            let t1 = DispatchTime.now().uptimeNanoseconds
            _ = grad.withUnsafeBufferPointer { d.backward($0) }
            let t2 = DispatchTime.now().uptimeNanoseconds
            if rep > 0 {
                f.append(Double(t1 - t0) / 1e6); b.append(Double(t2 - t1) / 1e6)
                for (k, v) in d.lastTimings { phases[k, default: []].append(v * 1e3) }
            }
        }
        return (median(f), median(b), phases.mapValues(median), d.convolutionFlops(images: batch * frames))
    }
}
