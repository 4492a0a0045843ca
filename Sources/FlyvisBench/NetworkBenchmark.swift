import FlyvisHex
import FlyvisNetwork
import FlyvisRandom
import FlyvisTask
import Foundation

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

    package static func run(
        network: Network, batch: Int = 4, frames: Int = 40, repetitions: Int = 5,
        dt: Double = 0.02
    ) throws -> Result {
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
