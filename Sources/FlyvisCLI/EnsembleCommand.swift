import ArgumentParser
import FlyvisBase
import FlyvisEnsemble
import FlyvisMPI
import FlyvisResults
import Foundation

/// The default command: train an ensemble, one member per MPI rank (or all members one after
/// another without mpirun), then write the ensemble summary and ranking.
struct EnsembleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ensemble",
        abstract: "Train an ensemble of networks as one MPI job (the default command).",
        discussion: """
            mpirun -n P flyvis-ensemble --ensemble-id 45 --task-name flow --start 0 --end 50 task.n_iters=1000
            Members start..end−1 are handed out to ranks; each member gets its own seed. Re-running the same \
            command (or --resume) skips finished members and resumes the others from their last good checkpoint. \
            SIGTERM/SIGUSR1 make every rank finish its epoch, checkpoint and exit with status 75.
            """)

    @Option(name: .customLong("ensemble-id"), help: "Ensemble id (the EEEE in results/<task>/EEEE/NNN).") var ensembleID = 0
    @Option(name: .customLong("task-name"), help: "Task name (results/<task>/...).") var taskName = "flow"
    @Option(help: "First member id.") var start = 0
    @Option(help: "One past the last member id (default: start + number of ranks).") var end: Int?
    @Flag(help: "Resume unfinished members (re-running the same command does the same).") var resume = false
    @Flag(name: .customLong("retry-failed"), help: "Train members again that failed in an earlier run.") var retryFailed = false
    @Option(name: .customLong("top-k"), help: "Mark the best k members in the summary (default all).") var topK: Int?
    @Option(name: .customLong("status-interval"), help: "Seconds between status table prints.") var statusInterval = 60.0
    @Option(name: .customLong("member-override"), help: "An override for one member only, as MEMBER:key=value (repeatable).")
    var memberOverrides: [String] = []
    @OptionGroup var common: CommonOptions
    @Argument(help: "Config overrides applied to every member, e.g. task.n_iters=1000.") var overrides: [String] = []

    /// Parsed --member-override values.
    var perMember: [Int: [String]] {
        var out: [Int: [String]] = [:]
        for o in memberOverrides {
            guard let colon = o.firstIndex(of: ":"), let m = Int(o[..<colon]) else { continue }
            out[m, default: []].append(String(o[o.index(after: colon)...]))
        }
        return out
    }

    func validate() throws {
        try common.validateCommon()
        guard ensembleID >= 0 else { throw ValidationError("--ensemble-id must be non-negative") }
        guard start >= 0 else { throw ValidationError("--start must be non-negative") }
        if let end { guard end > start else { throw ValidationError("--end (\(end)) must be greater than --start (\(start))") } }
        // The ensemble folder is written before any member's path is checked: check its parts
        // here (flyvis names members EEEE/NNN, so ids have at most 4 and 3 digits).
        do { try NetworkPath.validateTaskName(taskName) } catch { throw ValidationError("--task-name: \(error)") }
        guard ensembleID <= 9999 else {
            throw ValidationError("--ensemble-id \(ensembleID) has more than 4 digits; flyvis names ensembles 0000…9999")
        }
        guard start <= 999, (end ?? start + 1) <= 1000 else {
            throw ValidationError("members are numbered 000…999 (flyvis's EEEE/NNN); choose --start/--end within 0…1000")
        }
        if let topK { guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") } }
        for o in memberOverrides where o.firstIndex(of: ":").flatMap({ Int(o[..<$0]) }) == nil {
            throw ValidationError("--member-override '\(o)' must look like MEMBER:key=value, e.g. 3:scheduler.lr_net.start=1e4")
        }
        for o in overrides where o.hasPrefix("task_name=") || o.hasPrefix("ensemble_and_network_id=") {
            throw ValidationError("'\(o)': use --task-name and --ensemble-id/--start/--end instead")
        }
    }

    func run() throws {
        let comm = try MPI.initialize()
        defer { MPI.finalize() }
        StopSignal.installHandlers()
        let members = start..<(end ?? start + comm.size)
        for m in perMember.keys.sorted() where !members.contains(m) {
            if comm.isRoot {
                TrainingLog.console.error(
                    "--member-override for member \(m), which is not in this job's members \(members.lowerBound)..<\(members.upperBound); check the member number or --start/--end"
                )
            }
            throw ExitCode(ExitStatus.invalidEnsembleConfig.rawValue)
        }
        let ensembleDir = ResultsLayout(root: common.rootURL).ensemble(task: taskName, ensembleID: ensembleID)
        let trainer = SolverMemberTrainer.ensemble(
            settings: try common.settings(), overrides: overrides, perMember: perMember,
            taskName: taskName, directory: ensembleDir)
        // Check the config before any rank starts, so a typo fails fast with one message: the
        // first member's and that of every member with its own overrides (a bad
        // --member-override must not reach training and leave its member marked failed).
        for m in Set([members.lowerBound] + perMember.keys).sorted() {
            do { _ = try trainer.config(for: MemberID(ensembleID: ensembleID, member: m)) } catch {
                let whose =
                    perMember[m] == nil
                    ? "" : "member \(m) (with --member-override \(perMember[m]!.joined(separator: " "))): "
                if comm.isRoot { TrainingLog.console.error("\(whose)\(error)") }
                throw ExitCode(ExitStatus.invalidEnsembleConfig.rawValue)
            }
        }
        var run = EnsembleRun(
            ensembleID: ensembleID, taskName: taskName, members: members, ensembleDirectory: ensembleDir,
            topK: topK, statusInterval: statusInterval, retryFailed: retryFailed)
        run.progressInterval = common.progressInterval
        let outcome = try EnsembleCoordinator(run: run, communicator: comm, trainer: trainer).execute()
        if outcome != .success { throw ExitCode(outcome.rawValue) }
    }
}
