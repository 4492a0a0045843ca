import ArgumentParser
import FlyvisConfig
import FlyvisEnsemble
import FlyvisResults
import FlyvisSolver
import Foundation

/// flyvis's `train-single`: one network, no MPI needed.
struct TrainSingle: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-single",
        abstract: "Train one network (flyvis train-single).",
        discussion: """
            Example: flyvis-ensemble train-single task_name=flow ensemble_and_network_id=0045/000 task.n_iters=1000
            Overrides use flyvis's grammar (a.b=v, +new=v, ++a=v, ~a). resume=true continues from the last good \
            checkpoint; train=false with checkpoint_only=true stores the untrained state; overfit=true trains on one \
            sequence; delete_if_exists=true starts over. Exit status 75 means stopped by SIGTERM/SIGUSR1 after a \
            checkpoint (resume to continue).
            """)

    @OptionGroup var common: CommonOptions
    @Argument(help: "Config overrides, e.g. task_name=flow ensemble_and_network_id=0045/000.") var overrides: [String] = []

    func validate() throws { try common.validateCommon() }

    func run() throws {
        StopSignal.installHandlers()
        let trainer = SolverMemberTrainer(overrides: overrides, common: common, taskName: nil, ensembleDirectory: nil)
        let config = try trainer.config(for: nil)
        let located = try MemberDirectory.locate(config: config, root: common.rootURL)
        let id = MemberID(ensembleID: located.ensembleID, member: located.member)
        // The same lifecycle as an ensemble member: states in _status.yaml, refusals untouched.
        let (status, error) = MemberLifecycle(member: id, rank: 0, directory: ResultsDirectory(located.url)).run(
            SingleRun(trainer: trainer, config: config))
        if let error { throw error }
        if status.state == .interrupted { throw ExitCode(EnsembleExit.interrupted.rawValue) }
    }
}

/// `train-single`'s run through the member lifecycle: its own config (resume as it says, the
/// stored config as base), logged to stdout.
private struct SingleRun: MemberTrainer {
    let trainer: SolverMemberTrainer
    let config: Config

    func train(_ member: MemberID, rank: Int, hooks: TrainingHooks) throws -> TrainingOutcome {
        try trainer.train(config: config, resume: try config.bool("resume"), hooks: hooks, log: TrainingLog())
    }
}

/// flyvis's `val-single`: l2norm and epe of every checkpoint on the validation set.
struct ValSingle: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "val-single",
        abstract: "Validate every checkpoint of one network with l2norm and epe (writes validation/l2norm.h5, epe.h5).")

    @OptionGroup var common: CommonOptions
    @Argument(help: "task_name=... ensemble_and_network_id=... (and the overrides used for training).") var overrides: [String] = []

    func validate() throws { try common.validateCommon() }

    func run() throws {
        let config = try MultiTaskSolver.resolveConfig(overrides: overrides + ["resume=true"], configDirs: common.configDirs,
                                                       root: common.rootURL)
        let name = try config.string("network_name")
        let dir = try ResultsLayout(root: common.rootURL).network(name: name)
        guard !CheckpointStore(networkDirectory: dir).indices().isEmpty else {
            throw CommandError("'\(dir.path)' has no checkpoints to validate; check task_name, ensemble_and_network_id and --root")
        }
        StopSignal.installHandlers()
        let solver: MultiTaskSolver
        do {
            solver = try MultiTaskSolver(config: config, root: common.rootURL, resume: true, threads: common.threads,
                                         stopRequested: { StopSignal.isSet })
        } catch SolverError.stopRequested {
            throw ExitCode(EnsembleExit.interrupted.rawValue)
        }
        let (l2, epe) = try solver.validateAllCheckpoints(stopRequested: { StopSignal.isSet })
        // Stopped between checkpoints (SIGTERM/SIGUSR1): what was validated is written.
        if StopSignal.isSet { throw ExitCode(EnsembleExit.interrupted.rawValue) }
        print("validated \(l2.count) checkpoints; best l2norm \(l2.min() ?? .nan), best epe \(epe.min() ?? .nan)")
    }
}
