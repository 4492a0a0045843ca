import FlyvisBase
import FlyvisConnectome
import FlyvisHDF5
import FlyvisNetwork
import FlyvisResults
import Foundation

/// Runs a trained network on a stimulus movie and writes the activity, as flyvis users do with
/// `NetworkView(dir).init_network(checkpoint=...)` and `Network.simulate`.
package struct StimulusSimulation {
    /// The network: a network directory's model at a checkpoint, or parameters from a file.
    package enum Model {
        case directory(ResultsDirectory, CheckpointSelector)
        /// A checkpoint file or an HDF5 file of parameters, for the default network of `extent`.
        case parameters(path: String, extent: Int)
    }

    package var model: Model
    package var stimulus: String
    package var output: String
    package var dt = 0.02
    /// Seconds of grey before the movie (0 starts from v = bias).
    package var tPre = 1.0
    package var nodes = Network.NodeSelection.parse("central")
    package var threads = 1

    package init(model: Model, stimulus: String, output: String) {
        self.model = model
        self.stimulus = stimulus
        self.output = output
    }

    /// Simulates and writes `output` (atomically); returns the output's shape (batch,
    /// frames, nodes) and, for a directory, the checkpoint it used.
    @discardableResult
    package func run(log: (String) -> Void = { _ in }) throws -> (shape: [Int], checkpoint: Int?) {
        let network: Network
        let source: String
        var checkpoint: Int?
        switch model {
        case let .directory(dir, selector):
            let trained = try TrainedNetwork(directory: dir, checkpoint: selector, threads: threads)
            network = trained.network
            source = trained.checkpointPath
            checkpoint = trained.checkpointIndex
            log("simulating \(dir.path) at checkpoint \(trained.checkpointIndex) (\(selector))")
        case let .parameters(path, extent):
            network = try Self.network(params: path, extent: extent)
            network.threads = threads
            source = path
        }
        let connectome = network.connectome
        let sf = try HDF5File(path: stimulus, mode: .readOnly)
        let names = try sf.children("/")
        let hexals = connectome.lattice.count
        guard let key = names.contains("lum") ? "lum" : (names.count == 1 ? names[0] : nil),
            let shape = try? sf.shape(key)
        else {
            throw SimulationError("'\(stimulus)' needs a dataset 'lum' of shape (batch, frames, 1, \(hexals))")
        }
        // The shape is checked, axis by axis, before anything is read or allocated.
        let (batch, frames) = try Self.checkStimulusShape(
            shape, file: stimulus, dataset: key, hexals: hexals,
            recorded: try network.nodeIndices(nodes).count, network: network)
        let lum: HDF5Array<Float> = try sf.read(key)
        if let bad = lum.values.firstIndex(where: { !$0.isFinite }) {
            throw SimulationError(
                "'\(stimulus)' holds a non-finite value (\(lum.values[bad]) at flat index \(bad) of lum); a stimulus must be finite luminances"
            )
        }
        let result = try network.simulate(
            movie: lum.values, batch: batch, frames: frames, dt: dt,
            initialState: tPre > 0 ? .given(try network.steadyState(tPre: tPre, dt: dt, batch: batch)!) : .bias,
            nodes: nodes)
        try AtomicFile.write(URL(fileURLWithPath: output)) { tmp in
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
        return ([batch, frames, result.nodes.count], checkpoint)
    }

    /// (batch, frames) of a stimulus of `shape`, or an error naming the axis that is wrong: the
    /// layout (batch, frames, 1, hexals), at least one sequence of one frame, and a size whose
    /// movie, activity and simulation state fit in this machine's memory.
    static func checkStimulusShape(
        _ shape: [Int], file: String, dataset: String, hexals: Int, recorded: Int,
        network: Network
    ) throws -> (batch: Int, frames: Int) {
        let what = "'\(file)': \(dataset) has shape \(shape)"
        guard shape.count == 4 else { throw SimulationError("\(what), expected 4 axes (batch, frames, 1, \(hexals))") }
        guard shape[2] == 1, shape[3] == hexals else {
            throw SimulationError(
                "\(what), expected (batch, frames, 1, \(hexals)): this network has \(hexals) hexals (check its extent)")
        }
        guard shape[0] >= 1 else { throw SimulationError("\(what): no sequences (batch 0); a stimulus needs at least one") }
        guard shape[1] >= 1 else { throw SimulationError("\(what): no frames; a stimulus needs at least one frame") }
        let memory = Double(ProcessInfo.processInfo.physicalMemory)
        let bytes =
            network.simulationBytes(batch: shape[0], frames: shape[1], recorded: recorded).map(Double.init) ?? .infinity
        guard bytes <= memory / 2 else {
            throw SimulationError(
                "\(what): \(shape[0]) sequence(s) of \(shape[1]) frames would need "
                    + String(
                        format:
                            "%.3g GB for the movie, the activity and the simulation, more than half of this machine's %.3g GB",
                        bytes / 1e9, memory / 1e9)
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
                throw SimulationError("'\(params)' is neither a checkpoint nor an HDF5 parameter file: \(error)")
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
                throw SimulationError("'\(params)' has no '\(name)' (looked for network/\(name) and /\(name))")
            }
            do { try parameters.set(name, v) } catch {
                throw SimulationError("\(error) — was the network trained with another --extent? (--network-dir reads it from _meta.yaml)")
            }
        }
        return try Network(connectome: connectome, parameters: parameters)
    }
}
