import ArgumentParser
import FlyvisBase
import FlyvisBench
import FlyvisConnectome
import FlyvisNetwork
import FlyvisResponses
import Foundation

/// Prints the median time of each phase of the reference workload.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark the network (and training iteration) at the reference workload.")

    @Option(help: "Batch size.") var batch = 4
    @Option(help: "Movie frames with gradients.") var frames = 40
    @Option(help: "Timed repetitions (after one warm-up); default 5, and 10 per child and round with --concurrent.")
    var repetitions: Int?
    @Option(help: "Connectome extent.") var extent = 15
    @Option(help: "Threads for the recurrent products and the decoder convolutions.") var threads = 1
    @Flag(help: "Time only the FMA peak and the decoder (skip the network and the iteration).") var decoderOnly = false
    @Option(
        help: """
            training (the reference training workload: FMA peak, network, decoder, iteration), iteration (the training \
            iteration alone) or responses (flyvis's moving-edge analysis).
            """)
    var workload = "training"
    @Option(
        help: """
            Node throughput: time the iteration workload in one single-thread child process alone, then in this many \
            at once, and print how much of the solo speed each keeps (shared L3 cache and memory bandwidth).
            """)
    var concurrent: Int?
    @Option(help: "For --concurrent: rounds of solo and concurrent runs, alternating which goes first (default 3).")
    var rounds: Int?
    /// Set by `--concurrent` on the child processes it starts: the iteration workload in step
    /// with the parent over stdin and stdout.
    @Flag(help: .hidden) var nodeThroughputChild = false
    @Option(help: "For --workload responses: the flyvis network directory whose best checkpoint runs.")
    var member = "Tests/Fixtures/flyvis-results-e15/flow/9995/000"
    @Option(help: "For --workload responses: where renderings are cached.") var root = "./data"

    /// The timed repetitions: 10 per child and round for --concurrent, whose medians are of
    /// fewer rounds than a solo run has repetitions; otherwise 5.
    var timedRepetitions: Int { repetitions ?? (concurrent == nil ? 5 : 10) }

    func validate() throws {
        guard ["training", "iteration", "responses"].contains(workload) else {
            throw ValidationError("--workload must be training, iteration or responses (got '\(workload)')")
        }
        guard timedRepetitions >= 1, threads >= 1 else { throw ValidationError("--repetitions and --threads must be at least 1") }
        guard extent >= 1, batch >= 1, frames >= 1 else { throw ValidationError("--extent, --batch and --frames must be at least 1") }
        if let concurrent {
            guard concurrent >= 1, (rounds ?? 1) >= 1 else { throw ValidationError("--concurrent and --rounds must be at least 1") }
            guard workload != "responses", !decoderOnly, threads == 1 else {
                throw ValidationError(
                    "--concurrent times the iteration workload on one thread per child; "
                        + "it takes no --workload responses, --decoder-only or --threads")
            }
        } else if rounds != nil {
            throw ValidationError("--rounds needs --concurrent K")
        }
        if decoderOnly && workload != "training" { throw ValidationError("--decoder-only belongs to --workload training") }
    }

    func run() throws {
        if nodeThroughputChild {
            return try NodeThroughputChild(extent: extent, batch: batch, frames: frames, repetitions: timedRepetitions).run()
        }
        if let concurrent { return try runConcurrent(ranks: concurrent) }
        if workload == "responses" { return try runResponses() }
        if workload == "iteration" { return try runIteration() }
        let repetitions = timedRepetitions
        let connectome = try Connectome(extent: extent)
        let network = try Network(connectome: connectome)
        network.threads = threads
        print("ours threads: \(threads)")
        let peak = FMAPeak.measure()
        print("ours fma_peak_gflops_per_thread: \(String(format: "%.1f", peak))")
        if !decoderOnly {
            let r = try NetworkBenchmark.run(network: network, batch: batch, frames: frames, repetitions: repetitions)
            print("ours steady_state_25_ms: \(String(format: "%.2f", r.steadyStateMs))")
            print("ours forward_\(frames)_ms: \(String(format: "%.2f", r.forwardMs))")
            print("ours backward_\(frames)_ms: \(String(format: "%.2f", r.backwardMs))")
            print("ours network_fwd_bwd_ms: \(String(format: "%.2f", r.networkMs))")
            // Useful FLOPs: one FMA per synapse, sample and frame forward; backward the
            // transposed product and the weight-gradient dot product, one FMA each. The
            // per-cell updates are a rounding error next to 1.5 million synapses.
            let synapses = Double(connectome.edgeCount)
            let fma = synapses * Double(batch * frames)
            let fwd = 2 * fma / (r.forwardMs / 1e3) / 1e9, bwd = 4 * fma / (r.backwardMs / 1e3) / 1e9
            let whole = 6 * fma / (r.networkMs / 1e3) / 1e9, threadPeak = peak * Double(threads)
            for (name, g) in [("forward", fwd), ("backward", bwd), ("fwd_bwd", whole)] {
                print(
                    "ours network_\(name)_gflops: \(String(format: "%.1f", g)) (\(String(format: "%.0f", 100 * g / threadPeak))% of peak)")
            }
        }
        let d = try DecoderBenchmark.run(
            lattice: connectome.lattice, inChannels: connectome.outputCellTypes.count,
            batch: batch, frames: frames, repetitions: repetitions, threads: threads)
        print("ours decoder_forward_ms: \(String(format: "%.2f", d.forwardMs))")
        print("ours decoder_backward_ms: \(String(format: "%.2f", d.backwardMs))")
        let decoderMs = d.forwardMs + d.backwardMs
        print("ours decoder_fwd_bwd_ms: \(String(format: "%.2f", decoderMs))")
        for (k, v) in d.phasesMs.sorted(by: { $0.key < $1.key }) { print("ours decoder_phase_\(k)_ms: \(String(format: "%.2f", v))") }
        // Useful convolution FLOPs only (live taps, needed pixels; see convolutionFlops), over
        // the whole decoder time and over the convolution phases alone, against the peak of
        // the threads used. The first convolution runs by FFT (SpectralConv), which does about
        // a quarter of these operations, so these are direct-convolution-equivalent rates.
        let gflop = d.convolutionFlops / 1e9
        let convMs = ["forward_conv", "backward_conv", "backward_conv_weights"].reduce(0) { $0 + (d.phasesMs[$1] ?? 0) }
        let all = gflop / (decoderMs / 1e3), conv = gflop / (convMs / 1e3), threadPeak = peak * Double(threads)
        print("ours decoder_useful_gflop: \(String(format: "%.3f", gflop))")
        print(
            "ours decoder_gflops: \(String(format: "%.1f", all)) (\(String(format: "%.0f", 100 * all / threadPeak))% of peak, direct-equivalent)"
        )
        print(
            "ours decoder_conv_gflops: \(String(format: "%.1f", conv)) (\(String(format: "%.0f", 100 * conv / threadPeak))% of peak, direct-equivalent)"
        )
        if !decoderOnly { try printIteration(network: network) }
        print("ours peak_rss_mb: \(String(format: "%.1f", peakResidentMB()))")
    }

    /// The iteration workload alone: its phases and `ours iteration_ms`, as the training
    /// workload prints them (for profiling one iteration without the other phases).
    func runIteration() throws {
        let network = try Network(connectome: try Connectome(extent: extent))
        network.threads = threads
        print("ours threads: \(threads)")
        try printIteration(network: network)
        print("ours peak_rss_mb: \(String(format: "%.1f", peakResidentMB()))")
    }

    func printIteration(network: Network) throws {
        let it = try IterationBenchmark.run(
            network: network, batch: batch, frames: frames, repetitions: timedRepetitions,
            threads: threads)
        for k in it.phasesMs.keys.sorted() { print("ours iteration_phase_\(k)_ms: \(String(format: "%.2f", it.phasesMs[k]!))") }
        print("ours iteration_ms: \(String(format: "%.2f", it.iterationMs))")
        printTraffic(it, streamGBs: MemoryTraffic.streamBandwidth())
    }

    /// The modelled DRAM bytes of each phase and the rate they imply against the measured
    /// streaming bandwidth, beside the iteration's: which phases are near the memory bound.
    func printTraffic(_ it: IterationBenchmark.Result, streamGBs: Double) {
        print("ours stream_gbs_per_thread: \(String(format: "%.1f", streamGBs))")
        for (k, bytes) in it.traffic.phases.sorted(by: { $0.key < $1.key }) {
            guard let ms = it.phasesMs[k] else { continue }
            let rate = bytes / (ms * 1e6)
            print(
                "ours iteration_phase_\(k)_dram_mb: \(String(format: "%.1f", bytes / 1e6)) (modelled; \(String(format: "%.1f", rate)) GB/s, \(String(format: "%.0f", 100 * rate / streamGBs))% of stream)"
            )
        }
        let total = it.traffic.total
        print(
            "ours iteration_dram_mb: \(String(format: "%.1f", total / 1e6)) (modelled; \(String(format: "%.1f", total / (it.iterationMs * 1e6))) GB/s per rank)"
        )
    }

    /// `--concurrent K`: this executable again as K single-thread children (NodeThroughputBenchmark).
    func runConcurrent(ranks: Int) throws {
        let executable = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        let child = [
            "bench", "--node-throughput-child", "--extent", "\(extent)", "--batch", "\(batch)", "--frames", "\(frames)",
            "--repetitions", "\(timedRepetitions)",
        ]
        let benchmark = NodeThroughputBenchmark(
            ranks: ranks, rounds: rounds ?? 3, repetitions: timedRepetitions, executable: executable, childArguments: child)
        FileHandle.standardOutput.write(Data("ours node_extent: \(extent), batch \(batch), frames \(frames)\n".utf8))
        // Unbuffered, so that each round's lines show as it ends (stdout is a pipe under scripts).
        _ = try benchmark.run { line in FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
    }

    /// The responses workload: the reference subset's moving-edge responses (rendering cached)
    /// and the rendering of one angle-intensity set from scratch.
    func runResponses() throws {
        var b = ResponsesBenchmark(
            member: URL(fileURLWithPath: member).standardizedFileURL, cacheRoot: URL(fileURLWithPath: root).standardizedFileURL)
        b.threads = threads
        b.repetitions = timedRepetitions
        let r = try b.run()
        print("ours threads: \(threads)")
        print("ours responses_ms: \(String(format: "%.2f", r.responsesMilliseconds))")
        print("ours responses_samples: \(r.samples) (\(r.frames) frames each)")
        print("ours render_s: \(String(format: "%.4f", r.renderSeconds))")
        print("ours peak_rss_mb: \(String(format: "%.1f", r.peakResidentMB))")
    }
}
