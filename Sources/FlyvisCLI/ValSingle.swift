import ArgumentParser
import FlyvisConfig
import FlyvisEnsemble
import FlyvisResults
import FlyvisSolver
import Foundation

/// flyvis's `val-single`: l2norm and epe of every checkpoint on the validation set.
struct ValSingle: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "val-single",
        abstract: "Validate every checkpoint of one network with l2norm and epe (writes validation/l2norm.h5, epe.h5).")

    @OptionGroup var common: CommonOptions
    @Argument(help: "task_name=... ensemble_and_network_id=... (and the overrides used for training).") var overrides: [String] = []

    func validate() throws { try common.validateCommon() }

    func run() throws {
        let config = try MultiTaskSolver.resolveConfig(overrides: overrides + ["\(RunFlag.resume.key)=true"], configDirs: common.configDirs,
                                                       root: common.rootURL)
        let name = try config.string("network_name")
        let dir = try ResultsLayout(root: common.rootURL).network(name: name)
        guard !CheckpointStore(networkDirectory: dir).indices().isEmpty else {
            throw CommandError("'\(dir.path)' has no checkpoints to validate; check task_name, ensemble_and_network_id and --root")
        }
        let solver = try MultiTaskSolver(config: config, root: common.rootURL, resume: true, threads: common.threads)
        let (l2, epe) = try solver.validateAllCheckpoints()
        print("validated \(l2.count) checkpoints; best l2norm \(l2.min() ?? .nan), best epe \(epe.min() ?? .nan)")
    }
}
