import ArgumentParser
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
        let settings = try common.settings()
        let config = try SolverMemberTrainer.resolveConfig(settings: settings, overrides: overrides)
        let located = try MemberDirectory.locate(config: config, root: settings.root)
        let id = MemberID(ensembleID: located.ensembleID, member: located.member)
        // The same lifecycle as an ensemble member: states in _status.yaml, refusals untouched.
        let (status, error) = MemberLifecycle(member: id, rank: 0, directory: ResultsDirectory(located.url)).run(
            SolverMemberTrainer.single(settings: settings, config: config))
        if let error { throw error }
        if status.state == .interrupted { throw ExitCode(ExitStatus.interrupted.rawValue) }
    }
}
