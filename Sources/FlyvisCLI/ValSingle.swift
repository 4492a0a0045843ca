import ArgumentParser
import FlyvisEnsemble
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
        StopSignal.installHandlers()
        let r: StoredValidation.Result
        do {
            r = try StoredValidation.run(
                overrides: overrides, configDirs: common.configDirs, root: common.rootURL,
                threads: common.threads, stopRequested: { StopSignal.isSet })
        } catch SolverError.stopRequested {
            throw ExitCode(ExitStatus.interrupted.rawValue)
        }
        // Stopped between checkpoints (SIGTERM/SIGUSR1): what was validated is written.
        if StopSignal.isSet { throw ExitCode(ExitStatus.interrupted.rawValue) }
        print("validated \(r.l2norm.count) checkpoints; best l2norm \(r.l2norm.min() ?? .nan), best epe \(r.epe.min() ?? .nan)")
    }
}
