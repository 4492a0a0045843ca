import ArgumentParser
import FlyvisBLAS
import FlyvisConnectome
import FlyvisNetwork
import Foundation

/// Prints the median time of each phase of the reference workload.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark the network (and training iteration) at the reference workload.")

    @Option(help: "Batch size.") var batch = 4
    @Option(help: "Movie frames with gradients.") var frames = 40
    @Option(help: "Timed repetitions (after one warm-up).") var repetitions = 5
    @Option(help: "Connectome extent.") var extent = 15
    @Option(help: "Threads for the recurrent products.") var threads = 1

    func run() throws {
        BLAS.configureThreads(defaultThreads: 1, environment: ProcessInfo.processInfo.environment)
        let connectome = try Connectome(extent: extent)
        let network = try Network(connectome: connectome)
        network.engine.threads = threads
        print("ours threads: \(threads)")
        let r = try NetworkBenchmark.run(network: network, batch: batch, frames: frames, repetitions: repetitions)
        print("ours steady_state_25_ms: \(String(format: "%.2f", r.steadyStateMs))")
        print("ours forward_\(frames)_ms: \(String(format: "%.2f", r.forwardMs))")
        print("ours backward_\(frames)_ms: \(String(format: "%.2f", r.backwardMs))")
        print("ours network_fwd_bwd_ms: \(String(format: "%.2f", r.networkMs))")
        print("ours peak_rss_mb: \(String(format: "%.1f", peakResidentMB()))")
    }
}

/// Peak resident set size of this process, from /proc (Linux) or getrusage.
func peakResidentMB() -> Double {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) {
        let kb = Double(line.split(separator: " ").dropFirst().first { !$0.isEmpty } ?? "0") ?? 0
        return kb / 1024
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}
