import ArgumentParser
import FlyvisBase
import FlyvisEnsemble
import FlyvisResults
import Foundation

/// Rebuilds `ensemble_summary.h5`, `ranking.txt` and `best_checkpoints.txt` from the member
/// directories of an ensemble, e.g. one trained as a SLURM array or by flyvis itself.
struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Rebuild an ensemble's summary and ranking from its member directories.")

    @Argument(help: "Ensemble directory, e.g. $FLYVIS_ROOT_DIR/results/flow/0045.")
    var ensembleDirectory: String

    @Option(help: "Task name used in member names (default: the parent directory's name).")
    var taskName: String?

    @Option(help: "Mark the best k members (default: all).")
    var topK: Int?

    func validate() throws {
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1") }
    }

    func run() throws {
        let dir = ResultsDirectory(URL(fileURLWithPath: ensembleDirectory).standardizedFileURL)
        guard dir.exists else {
            throw ValidationError("ensemble directory '\(ensembleDirectory)' does not exist; pass <root>/results/<task>/<EEEE>")
        }
        let (ranked, table) = try EnsembleSummary.rebuild(ensembleDirectory: dir, taskName: taskName, topK: topK)
        print("Ranking by task error, \(ranked.count) members:")
        print(table, terminator: "")
        print("wrote \(dir.path)/\(ResultsSchema.ensembleSummary), \(ResultsSchema.ranking), \(ResultsSchema.bestCheckpoints)")
        try writeReport(dir, taskName: taskName, topK: topK)
        // The summary is written for the members that read; the ones that did not are named
        // and make the command fail, so a script does not take a partial ranking for a full one.
        let unreadable = ranked.filter { !$0.problems.isEmpty }
        for m in unreadable {
            for p in m.problems { TrainingLog.console.warning("member \(m.id.name): \(p)") }
        }
        if !unreadable.isEmpty {
            TrainingLog.console.error(
                "\(unreadable.count) member(s) could not be read: \(unreadable.map(\.id.name).joined(separator: ", ")); their rows are incomplete"
            )
            throw ExitCode(ExitStatus.failure.rawValue)
        }
    }
}
