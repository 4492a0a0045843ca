import FlyvisHex
import FlyvisNetwork
import FlyvisRandom
import FlyvisTask
import Foundation

// The workloads `bench` times. They live with the command, not in the library modules, since
// nothing else runs them.

/// The median of timings (the upper one for an even count, as every figure here is).
package func median(_ x: [Double]) -> Double { let s = x.sorted(); return s[s.count / 2] }

/// Times the reference workload (flyvis's training iteration minus the decoder): B = 4, a
/// 25-step grey steady state without gradients, 40 movie frames with gradients, and the
/// backward of a loss on every node of every frame.
package enum NetworkBenchmark {
    package struct Result: Sendable {
        package var steadyStateMs: Double
        package var forwardMs: Double
        package var backwardMs: Double
        package var repetitions: Int
        package var networkMs: Double { forwardMs + backwardMs }
    }

    package static func run(network: Network, batch: Int = 4, frames: Int = 40, repetitions: Int = 5,
                           dt: Double = 0.02) throws -> Result {
        var rng = SystemRandomNumberGenerator()
        let movie = (0..<(batch * frames * network.hexCount)).map { _ in Float.random(in: 0.2...0.8, using: &rng) }
        var ss: [Double] = [], fw: [Double] = [], bw: [Double] = []
        let cells = network.connectome.centralCellsIndex
        for rep in 0...repetitions {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let steady = try network.steadyState(tPre: 0.5, dt: dt, batch: batch)
            let t1 = DispatchTime.now().uptimeNanoseconds
            try movie.withUnsafeBufferPointer { try network.forward(movie: $0, batch: batch, frames: frames, dt: dt, state: steady) }
            let t2 = DispatchTime.now().uptimeNanoseconds
            let engine = network.engine
            _ = engine.backward { t, _, add in
                for b in 0..<batch { for n in cells { add(n, b, 2 * engine.value(frame: t, node: n, batch: b)) } }
            }
            let t3 = DispatchTime.now().uptimeNanoseconds
            if rep > 0 {  // the first repetition warms caches and allocates buffers
                ss.append(Double(t1 - t0) / 1e6); fw.append(Double(t2 - t1) / 1e6); bw.append(Double(t3 - t2) / 1e6)
            }
        }
        return Result(steadyStateMs: median(ss), forwardMs: median(fw), backwardMs: median(bw), repetitions: repetitions)
    }
}

/// Times the decoder forward and backward at a given size (median ms), for `bench`.
package enum DecoderBenchmark {
    package static func run(lattice: HexLattice, inChannels: Int, batch: Int, frames: Int,
                           repetitions: Int, threads: Int = 1) throws -> (forwardMs: Double, backwardMs: Double, phasesMs: [String: Double],
                                                        convolutionFlops: Double) {
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

