import ArgumentParser
import FlyvisBase
import FlyvisEnsemble
import FlyvisResults
import Foundation

/// Writes the ensemble report page for any ensemble directory, also one trained by flyvis or
/// as a SLURM array, without touching the summary files.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write <ens>/ensemble_report.html: curves, task-error histogram, ranking and member table.",
        discussion: """
            One self-contained HTML file (inline SVG and CSS) that opens offline. Running jobs keep it \
            current themselves; this command draws a snapshot from the member directories.
            """)

    @Argument(help: "Ensemble directory, e.g. $FLYVIS_ROOT_DIR/results/flow/0045.")
    var ensembleDirectory: String

    @Option(help: "Task name shown on the page (default: the parent directory's name).")
    var taskName: String?

    @Option(help: "Highlight the best k members (default: all).")
    var topK: Int?

    @Option(help: "Write the page here instead of <ens>/ensemble_report.html (e.g. for a read-only ensemble).")
    var out: String?

    func validate() throws {
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1") }
    }

    func run() throws {
        let dir = ResultsDirectory(URL(fileURLWithPath: ensembleDirectory).standardizedFileURL)
        try writeReport(dir, taskName: taskName, topK: topK, out: out.map { URL(fileURLWithPath: $0).standardizedFileURL })
    }
}

/// Writes the report and prints where, plus every member file that could not be read.
func writeReport(_ dir: ResultsDirectory, taskName: String?, topK: Int?, out: URL? = nil) throws {
    do {
        let (url, report) = try EnsembleReportWriter().write(ensembleDirectory: dir, taskName: taskName, topK: topK, to: out)
        for m in report.members {
            for p in m.problems { TrainingLog.console.warning("member \(m.name): \(p)") }
        }
        print("wrote \(url.path) (\(report.members.count) members)")
    } catch let e as EnsembleDirectoryError {
        throw ValidationError(e.description)
    }
}
