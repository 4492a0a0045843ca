import ArgumentParser
import FlyvisBase
import FlyvisEnsemble
import Foundation

/// The `flyvis-ensemble` command: trains flyvis ensembles as one MPI job.
@main
struct RootCommand: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "flyvis-ensemble",
        abstract: "Train ensembles of connectome-constrained fly visual system models (flyvis) with MPI.",
        discussion: """
            Run `flyvis-ensemble doctor` first on a new cluster: it checks MPI, parallel HDF5 \
            and the cores, and that the results directory accepts collective writes. Without \
            arguments this help is printed; `flyvis-ensemble ensemble` (or any ensemble option, \
            e.g. --ensemble-id) trains an ensemble.
            """,
        version: version,
        subcommands: [
            EnsembleCommand.self, TrainSingle.self, ValSingle.self, SummaryCommand.self, ReportCommand.self, Responses.self,
            Simulate.self, Bench.self, Doctor.self, MemberSeed.self,
        ],
        defaultSubcommand: EnsembleCommand.self
    )

    /// Checks the first argument before ArgumentParser sees it: no arguments at all print the
    /// help (rather than starting a full-size default ensemble), and a word that is neither a
    /// subcommand, an option nor an override (`trian-single`) is an unknown subcommand (rather
    /// than "cannot parse override").
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        switch TopLevel.check(arguments) {
        case .help:
            print(helpMessage())
            Foundation.exit(0)
        case let .unknownSubcommand(message):
            TrainingLog.finalError(message)
            Foundation.exit(ExitStatus.usage.rawValue)
        case .run:
            main(arguments)
        }
    }
}
