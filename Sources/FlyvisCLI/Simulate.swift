import ArgumentParser
import FlyvisConnectome
import FlyvisHDF5
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
    @Option(parsing: .unconditional, help: "Seconds of grey before the movie (flyvis's 'auto' initial state is 1.0; 0 starts from v = bias).")
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
        let network: Network
        let source: String
        if let networkDir {
            let dir = ResultsDirectory(URL(fileURLWithPath: networkDir).standardizedFileURL)
            let trained = try TrainedNetwork(directory: dir, checkpoint: CheckpointSelector(checkpoint)!, threads: threads)
            network = trained.network
            source = trained.checkpointPath
            print("simulating \(dir.path) at checkpoint \(trained.checkpointIndex) (\(checkpoint))")
        } else {
            network = try Self.network(params: params!, extent: extent)
            network.threads = threads
            source = params!
        }
        let connectome = network.connectome
        let sf = try HDF5File(path: stimulus, mode: .readOnly)
        let names = try sf.children("/")
        let hexals = connectome.lattice.count
        guard let key = names.contains("lum") ? "lum" : (names.count == 1 ? names[0] : nil),
              let shape = try? sf.shape(key) else {
            throw CommandError("'\(stimulus)' needs a dataset 'lum' of shape (batch, frames, 1, \(hexals))")
        }
        let selection = Network.NodeSelection.parse(nodes)
        // The shape is checked, axis by axis, before anything is read or allocated.
        let (batch, frames) = try Self.checkStimulusShape(shape, file: stimulus, dataset: key, hexals: hexals,
                                                          recorded: try network.nodeIndices(selection).count, network: network)
        let lum: HDF5Array<Float> = try sf.read(key)
        if let bad = lum.values.firstIndex(where: { !$0.isFinite }) {
            throw CommandError("'\(stimulus)' holds a non-finite value (\(lum.values[bad]) at flat index \(bad) of lum); a stimulus must be finite luminances")
        }
        let result = try network.simulate(movie: lum.values, batch: batch, frames: frames, dt: dt,
                                          initialState: tPre > 0 ? .given(try network.steadyState(tPre: tPre, dt: dt, batch: batch)!) : .bias,
                                          nodes: selection)
        try AtomicFile.write(URL(fileURLWithPath: out)) { tmp in
            let f = try HDF5File(path: tmp, mode: .truncate)
            try f.write("activity", result.values, shape: [batch, frames, result.nodes.count])
            try f.write("nodes", result.nodes.map(Int64.init), shape: [result.nodes.count])
            try f.writeStrings("node_types", result.nodes.map { connectome.cellTypes[Int(connectome.nodeType[$0])] })
            try f.write("node_u", result.nodes.map { connectome.nodeU[$0] }, shape: [result.nodes.count])
            try f.write("node_v", result.nodes.map { connectome.nodeV[$0] }, shape: [result.nodes.count])
            try f.setAttribute("dt", dt)
            try f.setAttribute("t_pre", tPre)
            try f.setAttribute("params", string: source)
            try f.close()
        }
        print("wrote activity (\(batch), \(frames), \(result.nodes.count)) to \(out)")
    }

    /// (batch, frames) of a stimulus of `shape`, or an error naming the axis that is wrong: the
    /// layout (batch, frames, 1, hexals), at least one sequence of one frame, and a size whose
    /// movie, activity and simulation state fit in this machine's memory.
    static func checkStimulusShape(_ shape: [Int], file: String, dataset: String, hexals: Int, recorded: Int,
                                   network: Network) throws -> (batch: Int, frames: Int) {
        let what = "'\(file)': \(dataset) has shape \(shape)"
        guard shape.count == 4 else { throw CommandError("\(what), expected 4 axes (batch, frames, 1, \(hexals))") }
        guard shape[2] == 1, shape[3] == hexals else {
            throw CommandError("\(what), expected (batch, frames, 1, \(hexals)): this network has \(hexals) hexals (check its extent)")
        }
        guard shape[0] >= 1 else { throw CommandError("\(what): no sequences (batch 0); a stimulus needs at least one") }
        guard shape[1] >= 1 else { throw CommandError("\(what): no frames; a stimulus needs at least one frame") }
        let memory = Double(ProcessInfo.processInfo.physicalMemory)
        let bytes = network.simulationBytes(batch: shape[0], frames: shape[1], recorded: recorded).map(Double.init) ?? .infinity
        guard bytes <= memory / 2 else {
            throw CommandError("\(what): \(shape[0]) sequence(s) of \(shape[1]) frames would need "
                + String(format: "%.3g GB for the movie, the activity and the simulation, more than half of this machine's %.3g GB", bytes / 1e9, memory / 1e9)
                + "; simulate fewer or shorter sequences (or fewer --nodes) at a time")
        }
        return (shape[0], shape[1])
    }

    /// The default network of `extent` with parameters from a checkpoint (either format) or a
    /// plain HDF5 parameter file.
    static func network(params: String, extent: Int) throws -> Network {
        let connectome = try Connectome(extent: extent)
        var parameters = try NetworkParameters(connectome: connectome)
        let values: [String: [Float]]
        if let c = try? CheckpointStore.read(params) {
            values = Dictionary(uniqueKeysWithValues: c.network.names.map { ($0, c.network[$0]!.asFloats) })
        } else {
            let pf: HDF5File
            do { pf = try HDF5File(path: params, mode: .readOnly) } catch {
                throw CommandError("'\(params)' is neither a checkpoint nor an HDF5 parameter file: \(error)")
            }
            var v: [String: [Float]] = [:]
            for name in ParameterName.names {
                let path = pf.exists("network/\(name)") ? "network/\(name)" : name
                if pf.exists(path) { v[name] = try pf.read(path, as: Float.self).values }
            }
            values = v
        }
        for name in ParameterName.allCases {
            guard let v = values[name.rawValue] else {
                throw CommandError("'\(params)' has no '\(name)' (looked for network/\(name) and /\(name))")
            }
            do { try parameters.set(name, v) } catch {
                throw CommandError("\(error) — was the network trained with another --extent? (--network-dir reads it from _meta.yaml)")
            }
        }
        return try Network(connectome: connectome, parameters: parameters)
    }
}
