import FlyvisBase
import FlyvisConfig
import FlyvisResults
import Foundation

/// flyvis's `val_single`: l2norm and epe of every checkpoint of a stored network on the
/// validation set, written to `validation/l2norm.h5` and `epe.h5`.
package enum StoredValidation {
    package struct Result: Sendable {
        package var directory: ResultsDirectory
        package var l2norm: [Double]
        package var epe: [Double]
    }

    /// The network named by `overrides` (task_name, ensemble_and_network_id) under `root`, with
    /// its stored config as the base. A network without checkpoints is an error, and nothing
    /// is created for it. `stopRequested` ends the data preparation
    /// (`SolverError.stopRequested`) or the validation between checkpoints (what was validated
    /// is written; the caller checks the request again).
    package static func run(
        overrides: [String], configDirs: [URL] = [], root: URL, threads: Int = 1,
        log: TrainingLog = TrainingLog(), stopRequested: @escaping () -> Bool = { false }
    ) throws -> Result {
        let config = try MultiTaskSolver.resolveConfig(
            overrides: overrides + ["\(RunFlag.resume.key)=true"],
            configDirs: configDirs, root: root)
        let dir = try ResultsLayout(root: root).network(name: try config.string("network_name"))
        guard !CheckpointStore(networkDirectory: dir).indices().isEmpty else {
            throw SolverError.notANetworkDirectory(
                path: dir.path, reason: "it has no checkpoints to validate; check task_name, ensemble_and_network_id and --root")
        }
        let solver = try MultiTaskSolver(
            config: config, root: root, resume: true, log: log, threads: threads, stopRequested: stopRequested)
        let (l2, epe) = try solver.validateAllCheckpoints(stopRequested: stopRequested)
        return Result(directory: dir, l2norm: l2, epe: epe)
    }
}
