import ArgumentParser
import Foundation

/// The `flyvis-ensemble` command: trains flyvis ensembles as one MPI job.
@main
struct FlyvisEnsemble: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "flyvis-ensemble",
        abstract: "Train ensembles of connectome-constrained fly visual system models (flyvis) with MPI.",
        discussion: """
            Run `flyvis-ensemble doctor` first on a new cluster: it checks MPI, parallel HDF5 \
            and BLAS, and that the results directory accepts collective writes.
            """,
        version: version,
        subcommands: [Ensemble.self, TrainSingle.self, ValSingle.self, Summary.self, Report.self, Simulate.self, Bench.self, Doctor.self,
                      MemberSeed.self],
        defaultSubcommand: Ensemble.self
    )
}
