import FlyvisConfig
import FlyvisConnectome
import FlyvisNetwork
import FlyvisResults
import Foundation

/// A network as it was trained: built from a network directory's `_meta.yaml` (connectome,
/// dynamics, activation — ours or flyvis's) and loaded with one of its checkpoints, as flyvis's
/// `NetworkView(dir).init_network(checkpoint=...)` does.
package struct TrainedNetwork {
    package let network: Network
    package let config: Config
    package let checkpointIndex: Int
    package let checkpointPath: String

    package init(directory: ResultsDirectory, checkpoint: CheckpointSelector = .best, threads: Int = 1) throws {
        let config = try Self.storedConfig(directory)
        let index = try checkpoint.resolve(in: directory)
        let path = CheckpointStore(networkDirectory: directory).path(index: index).path
        let c = try CheckpointStore.read(path)
        network = try Self.build(config, parameters: c, source: path)
        network.threads = threads
        self.config = config
        checkpointIndex = index
        checkpointPath = path
    }

    /// The config stored in `<dir>/_meta.yaml`, over the defaults.
    package static func storedConfig(_ directory: ResultsDirectory, overrides: [String] = []) throws -> Config {
        let file = directory.url.appendingPathComponent(ResultsSchema.meta).path
        guard let meta = try directory.readMeta() else {
            throw SolverError.notANetworkDirectory(path: directory.path, reason: "it has no readable _meta.yaml")
        }
        let stored = try Config.fromMeta(meta, file: file).config
        return try Build.loadConfig(stored: stored, overrides: overrides)
    }

    /// The network `config` describes, with the checkpoint's parameters; a checkpoint of
    /// another shape (another extent or connectome) is refused, naming both shapes.
    package static func build(_ config: Config, parameters c: Checkpoint, source: String) throws -> Network {
        let connectome = try Build.connectome(config)
        var parameters = try NetworkParameters(connectome: connectome, config: try Build.networkParameters(config))
        try parameters.load(c, source: source)
        return try Network(connectome: connectome, parameters: parameters, activation: try Build.activation(config))
    }
}

extension NetworkParameters {
    /// Takes all five parameters from a checkpoint's network state dict; a missing one is a
    /// damaged checkpoint, a shape that does not fit this network (another extent or
    /// connectome) is refused, naming both shapes.
    mutating func load(_ c: Checkpoint, source: String) throws {
        for name in ParameterName.allCases {
            guard let a = c.network[name.rawValue] else {
                throw ResultsError.corruptCheckpoint(path: source, reason: "no network/\(name)")
            }
            let expected = self[name].count
            guard a.count == expected, a.shape.count == 1 else {
                throw SolverError.shapeMismatch(source: source, key: "network/\(name)", stored: a.shape, expected: [expected])
            }
            try set(name, a.asFloats)
        }
    }
}
