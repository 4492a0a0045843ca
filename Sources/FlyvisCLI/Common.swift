import ArgumentParser
import FlyvisConfig
import FlyvisEnsemble
import FlyvisResults
import FlyvisSolver
import Foundation

/// Options every training command shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Root directory for results and renderings (default: $FLYVIS_ROOT_DIR, else ./data).")
    var root: String?

    @Option(name: .customLong("config-dir"), help: "Directory of YAML files that add or replace config groups (e.g. DIR/scheduler/fast.yaml, selected by scheduler=fast).")
    var configDir: [String] = []

    @Option(name: .customLong("threads"), help: "Threads per rank for the network and decoder kernels (default 1 per MPI rank). Give ranks × threads ≤ free cores: extra workers spin between time steps. Capped at the cores this process may use.")
    var requestedThreads: Int = 1

    /// `--threads`, capped at the cores this process may run on (more only spin).
    var threads: Int { min(max(requestedThreads, 1), availableCores()) }

    @Flag(name: .customLong("skip-validation"), help: "Do not validate every checkpoint with l2norm and epe when training finishes (flyvis's val_single; on by default so that flyvis's EnsembleView finds validation/epe.h5).")
    var skipValidation = false

    @Option(name: .customLong("init-from"), help: "Start a new run from a trained model's weights: a network directory (ours or flyvis's), optionally with :best, :last or :N (default best). Loads the network and, where the shapes fit, the decoder.")
    var initFrom: String?

    @Option(name: .customLong("progress-interval"), help: "Seconds between progress lines (iteration, it/s, ETA) and, in an ensemble, status table and report updates between checkpoints.")
    var progressInterval: Double = 30

    var rootURL: URL {
        let path = root ?? ProcessInfo.processInfo.environment["FLYVIS_ROOT_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "./data"
        return URL(fileURLWithPath: (path as NSString).expandingTildeInPath).standardizedFileURL
    }

    var configDirs: [URL] { configDir.map { URL(fileURLWithPath: $0).standardizedFileURL } }

    func validateCommon() throws {
        guard requestedThreads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard progressInterval >= 0, progressInterval.isFinite else {
            throw ValidationError("--progress-interval \(progressInterval) is not a number of seconds ≥ 0; use e.g. 30")
        }
        let cores = availableCores()
        if requestedThreads > cores {
            warn("--threads \(requestedThreads) is more than the \(cores) core(s) this process may use; using \(cores)")
        }
        if let initFrom { _ = try InitSource.parse(initFrom) }
        for d in configDir {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: d, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--config-dir '\(d)' is not a directory")
            }
        }
    }
}

/// The cores this process may run on: its CPU affinity (what SLURM and taskset grant, from
/// /proc/self/status), else the online processors.
func availableCores() -> Int {
    let online = max(1, ProcessInfo.processInfo.activeProcessorCount)
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else { return online }
    var n = 0
    for part in line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces).split(separator: ",") {
        let bounds = part.split(separator: "-").compactMap { Int($0) }
        if bounds.count == 2, bounds[1] >= bounds[0] { n += bounds[1] - bounds[0] + 1 } else if bounds.count == 1 { n += 1 }
    }
    return n > 0 ? min(n, online) : online
}

/// A warning on stderr, before any log exists.
func warn(_ message: String) {
    try? FileHandle.standardError.write(contentsOf: Data("warning: \(message)\n".utf8))
}

/// Runs one member through the shared solver core; used by `train-single` and by every rank
/// of the ensemble (both through `MemberLifecycle`), so both produce identical results and
/// record the same states.
struct SolverMemberTrainer: MemberTrainer {
    let overrides: [String]
    var perMember: [Int: [String]] = [:]
    let common: CommonOptions
    /// The ensemble names members itself; `train-single` takes task_name and
    /// ensemble_and_network_id from its overrides (nil here).
    let taskName: String?
    let ensembleDirectory: URL?

    /// The member's config: for an ensemble member its overrides, name and seed; for
    /// `train-single` the overrides over the stored config when resuming.
    func config(for member: MemberID?) throws -> Config {
        guard let member, let taskName else {
            return try MultiTaskSolver.resolveConfig(overrides: overrides, configDirs: common.configDirs, root: common.rootURL)
        }
        return try Build.loadConfig(overrides: overrides + ["task_name=\(taskName)", "ensemble_and_network_id=\(member.name)",
                                                            "seed=\(member.seed)"] + (perMember[member.member] ?? []),
                                    configDirs: common.configDirs)
    }

    func train(_ member: MemberID, rank: Int, hooks: TrainingHooks) throws -> TrainingOutcome {
        try train(config: try config(for: member), resume: true, hooks: hooks,
                  log: TrainingLog(prefix: "rank \(rank) member \(member.name): ", echoToStderr: true),
                  memberLog: ensembleDirectory?.appendingPathComponent(ResultsSchema.memberLog(member.member)))
    }

    /// The lifecycle of one solver run, as flyvis's train-single has it: train (or not), the
    /// optional untrained checkpoint, then the validation of every checkpoint once trained to
    /// the end. An ensemble member always resumes: re-running a job never discards work.
    func train(config: Config, resume: Bool, hooks: TrainingHooks, log: TrainingLog, memberLog: URL? = nil) throws -> TrainingOutcome {
        if let memberLog { log.addFile(memberLog) }
        let solver: MultiTaskSolver
        do {
            solver = try MultiTaskSolver(config: config, root: common.rootURL, resume: resume, log: log, threads: common.threads,
                                         stopRequested: hooks.stopRequested)
        } catch SolverError.stopRequested {
            log.warning("Stop requested while the data set was being prepared; nothing was trained. Rerun to continue.")
            return .interrupted
        }
        solver.progressInterval = common.progressInterval
        try common.initialize(solver)
        let total = try config.int("task.n_iters")
        hooks.started(solver.iteration, total)
        let trained = try config.bool("train")
        if trained, try solver.train(overfit: try config.bool("overfit"), hooks: hooks) == .interrupted {
            return .interrupted
        }
        if try config.bool("checkpoint_only") { try solver.checkpoint() }
        let done = solver.iteration >= total
        if done && trained && !common.skipValidation, !(try solver.validateIfNeeded(stopRequested: hooks.stopRequested)) {
            return .interrupted
        }
        log.info(String(format: "Done after %d iterations; peak RSS %.0f MB.", solver.iteration, peakResidentMB()))
        return done ? .finished : .notTrained
    }
}

/// `--init-from DIR[:best|last|N]`: the model a new run starts from.
struct InitSource {
    var directory: ResultsDirectory
    var checkpoint: CheckpointSelector

    static func parse(_ text: String) throws -> InitSource {
        var path = text, selector = CheckpointSelector.best
        if let colon = text.lastIndex(of: ":"), let s = CheckpointSelector(String(text[text.index(after: colon)...])) {
            path = String(text[..<colon])
            selector = s
        }
        let dir = ResultsDirectory(URL(fileURLWithPath: (path as NSString).expandingTildeInPath).standardizedFileURL)
        guard FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("chkpts").path) else {
            throw ValidationError("--init-from '\(path)' is not a network directory with chkpts/; pass <root>/results/<task>/<EEEE>/<NNN>[:best|last|N]")
        }
        return InitSource(directory: dir, checkpoint: selector)
    }
}

extension CommonOptions {
    /// Applies `--init-from` to a solver that has not trained yet (a resumed run keeps its own
    /// weights).
    func initialize(_ solver: MultiTaskSolver) throws {
        guard let initFrom, solver.checkpointIndex < 0 else { return }
        let source = try InitSource.parse(initFrom)
        try solver.initialize(from: source.directory, checkpoint: source.checkpoint)
    }
}

/// A problem with a command's input files or directories: one line, exit status 1, no usage
/// text (usage is for mistyped options, exit 64).
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
