import ArgumentParser
import FlyvisBLAS
import FlyvisConnectome
import FlyvisHDF5
import FlyvisNetwork
import FlyvisResults
import Foundation

/// Runs a (trained) network on a user's stimulus movie and writes the activity, as flyvis
/// users do with `NetworkView`/`Network.simulate`.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate a network on a stimulus movie and write the activity to HDF5.",
        discussion: """
            --params takes a checkpoint (chkpts/chkpt_NNNNN) or any HDF5 file with the datasets \
            nodes_bias, nodes_time_const, edges_sign, edges_syn_count, edges_syn_strength (at the \
            root or under network/). --stimulus takes an HDF5 file whose dataset 'lum' (or its only \
            dataset) has shape (batch, frames, 1, hexals).
            """)

    @Option(help: "Parameters: a checkpoint or an HDF5 file of network parameters.") var params: String
    @Option(help: "Stimulus HDF5 file with lum (batch, frames, 1, hexals).") var stimulus: String
    @Option(help: "Output HDF5 file (written atomically).") var out: String
    @Option(help: "Integration time step in seconds.") var dt: Double = 0.02
    @Option(help: "Seconds of grey before the movie (flyvis's 'auto' initial state is 1.0; 0 starts from v = bias).")
    var tPre: Double = 1.0
    @Option(help: "Nodes to record: central, all, or comma-separated cell types.") var nodes = "central"
    @Option(help: "Connectome extent the parameters belong to.") var extent = 15
    @Option(help: "Threads for the recurrent products.") var threads = 1

    func validate() throws {
        guard dt > 0, dt.isFinite else { throw ValidationError("--dt must be positive (got \(dt)); flyvis uses 0.02") }
        guard tPre >= 0, tPre.isFinite else { throw ValidationError("--t-pre must be non-negative (got \(tPre))") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        BLAS.configureThreads(defaultThreads: 1, environment: ProcessInfo.processInfo.environment)
        let connectome = try Connectome(extent: extent)
        var parameters = try NetworkParameters(connectome: connectome)
        let pf = try HDF5File(path: params, mode: .readOnly)
        for name in NetworkParameters.names {
            let path = pf.exists("network/\(name)") ? "network/\(name)" : name
            guard pf.exists(path) else {
                throw ValidationError("'\(params)' has no '\(name)' (looked at /\(name) and /network/\(name))")
            }
            let values: [Float] = try pf.read(path).values
            do { try parameters.set(name, values) } catch {
                throw ValidationError("\(error) — was the network trained with another --extent?")
            }
        }
        let sf = try HDF5File(path: stimulus, mode: .readOnly)
        let names = try sf.children("/")
        guard let key = names.contains("lum") ? "lum" : (names.count == 1 ? names[0] : nil),
              (try? sf.shape(key)) != nil else {
            throw ValidationError("'\(stimulus)' needs a dataset 'lum' of shape (batch, frames, 1, \(connectome.lattice.count))")
        }
        let lum: HDF5Array<Float> = try sf.read(key)
        guard lum.shape.count == 4, lum.shape[2] == 1, lum.shape[3] == connectome.lattice.count else {
            throw NetworkError.stimulusShape(expected: [-1, -1, 1, connectome.lattice.count], found: lum.shape)
        }
        let (batch, frames) = (lum.shape[0], lum.shape[1])
        let network = try Network(connectome: connectome, parameters: parameters)
        network.engine.threads = threads
        let selection = Network.NodeSelection.parse(nodes)
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
            try f.setAttribute("params", string: params)
            try f.close()
        }
        print("wrote activity (\(batch), \(frames), \(result.nodes.count)) to \(out)")
    }
}
