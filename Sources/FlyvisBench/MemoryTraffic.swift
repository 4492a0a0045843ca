import Foundation

/// A model of the bytes one training iteration moves between the core and DRAM, per phase, so
/// that `bench` can say whether a phase is near the FMA peak or near the memory bandwidth, and
/// how many ranks a node's memory can feed. The virtual machines we run on expose no memory
/// counters, so it counts buffers instead: every large buffer is written once and read once
/// per iteration, and together they are several times the 32 MB L3, so each write costs a
/// read for ownership plus the write back, and each later read comes from DRAM. The per-type
/// maps of the network (2–4 MB) stay in L2 and L3 and are not counted.
package struct MemoryTraffic: Sendable {
    /// Modelled bytes per phase, under the phase names of `IterationBenchmark`.
    package var phases: [String: Double] = [:]
    package var total: Double { phases.values.reduce(0, +) }

    /// `history`: the states and drives the forward writes and the backward reads; `decoder`:
    /// the decoder's maps, masks, spectra and gradients; `activity`: the output cells'
    /// activity handed to the decoder and its gradient handed back; `movie`: the input.
    package init(history: Int, decoder: Int, activity: Int, movie: Int) {
        phases["network_forward"] = Double(2 * history + movie)
        phases["decoder_loss_fwd_bwd"] = Double(3 * decoder + 3 * activity)
        phases["network_backward"] = Double(history)
    }

    /// The single-thread streaming bandwidth: the best of five copies of 64 MB, counting the
    /// read, the read for ownership and the write, in GB/s. A reference for the modelled rates.
    package static func streamBandwidth() -> Double {
        let count = 16 << 20
        let a = UnsafeMutablePointer<Float>.allocate(capacity: count), b = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { a.deallocate(); b.deallocate() }
        a.initialize(repeating: 1, count: count)
        b.initialize(repeating: 0, count: count)
        var best = 0.0
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            b.update(from: a, count: count)
            let t1 = DispatchTime.now().uptimeNanoseconds
            best = max(best, Double(3 * count * MemoryLayout<Float>.stride) / Double(t1 - t0))
        }
        return best
    }
}
