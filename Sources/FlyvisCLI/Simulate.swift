import ArgumentParser
import FlyvisNetwork
import FlyvisResults
import FlyvisSolver
import Foundation

/// Runs a trained network on a user's stimulus movie and writes the activity, as flyvis users
/// do with `NetworkView(dir).init_network(checkpoint=...)` and `Network.simulate`.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate a trained network on a stimulus movie and write the activity to HDF5.",
        discussion: """
            --network-dir takes a network directory (ours or one trained by flyvis, e.g. \
            results/flow/0000/000): the connectome, dynamics and activation come from its _meta.yaml, \
            the parameters from --checkpoint (best by default: the lowest validation/epe, else \
            validation/loss). --params instead takes a bare checkpoint file (chkpts/chkpt_NNNNN) or an \
            HDF5 file with nodes_bias, nodes_time_const, edges_sign, edges_syn_count, edges_syn_strength \
            (at the root or under network/), simulated with the default network of --extent. \
            --stimulus takes an HDF5 file whose dataset 'lum' (or its only dataset) has shape \
            (batch, frames, 1, hexals).
            """)

    @Option(help: "Network directory whose model to simulate (its _meta.yaml and checkpoints).") var networkDir: String?
    @Option(help: "Checkpoint of --network-dir: best, last or an index.") var checkpoint = "best"
    @Option(help: "Instead of --network-dir: a checkpoint file or an HDF5 file of network parameters.") var params: String?
    @Option(help: "Stimulus HDF5 file with lum (batch, frames, 1, hexals).") var stimulus: String
    @Option(help: "Output HDF5 file (written atomically).") var out: String
    // `.unconditional`: a value that starts with "-" (--dt -0.02) is this option's value, which
    // validate() then refuses, instead of being taken for another option.
    @Option(parsing: .unconditional, help: "Integration time step in seconds.") var dt: Double = 0.02
    @Option(
        parsing: .unconditional, help: "Seconds of grey before the movie (flyvis's 'auto' initial state is 1.0; 0 starts from v = bias).")
    var tPre: Double = 1.0
    @Option(help: "Nodes to record: central, all, or comma-separated cell types.") var nodes = "central"
    @Option(help: "With --params: the connectome extent the parameters belong to.") var extent = 15
    @Option(help: "Threads for the recurrent products.") var threads = 1

    func validate() throws {
        guard dt > 0, dt.isFinite else { throw ValidationError("--dt must be positive (got \(dt)); flyvis uses 0.02") }
        guard tPre >= 0, tPre.isFinite else { throw ValidationError("--t-pre must be non-negative (got \(tPre))") }
        guard tPre / dt <= Double(Network.maxSteps) else {
            throw ValidationError("--t-pre \(tPre) at --dt \(dt) is more than \(Network.maxSteps) time steps; shorten it")
        }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard (networkDir == nil) != (params == nil) else {
            throw ValidationError("give either --network-dir DIR (with --checkpoint best|last|N) or --params FILE")
        }
        // The output is written by renaming over --out: never over an input.
        for (option, input) in [("--stimulus", stimulus), ("--params", params)] {
            if let input, NetworkPath.samePath(input, out) {
                throw ValidationError("--out '\(out)' is the \(option) file; writing it would replace the input, choose another --out")
            }
        }
        guard CheckpointSelector(checkpoint) != nil else {
            throw ValidationError("--checkpoint must be best, last or a checkpoint index (got '\(checkpoint)')")
        }
    }

    func run() throws {
        var simulation = StimulusSimulation(
            model: networkDir.map {
                .directory(ResultsDirectory(URL(fileURLWithPath: $0).standardizedFileURL), CheckpointSelector(checkpoint)!)
            }
                ?? .parameters(path: params!, extent: extent),
            stimulus: stimulus, output: out)
        simulation.dt = dt
        simulation.tPre = tPre
        simulation.nodes = Network.NodeSelection.parse(nodes)
        simulation.threads = threads
        let (shape, _) = try simulation.run { print($0) }
        print("wrote activity (\(shape.map(String.init).joined(separator: ", "))) to \(out)")
    }
}
