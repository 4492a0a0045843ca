import ArgumentParser
import FlyvisBLAS
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

    @Option(name: .customLong("threads"), help: "Threads per rank for the network and decoder kernels and BLAS (default 1 per MPI rank; FLYVIS_BLAS_THREADS also sets BLAS). Give ranks × threads ≤ free cores: extra workers spin between time steps. Capped at the cores this process may use.")
    var requestedThreads: Int = 1

    /// `--threads`, capped at the cores this process may run on (more only spin).
    var threads: Int { min(max(requestedThreads, 1), availableCores()) }

    @Flag(name: .customLong("skip-validation"), help: "Do not validate every checkpoint with l2norm and epe when training finishes (flyvis's val_single; on by default so that flyvis's EnsembleView finds validation/epe.h5).")
    var skipValidation = false

    @Option(name: .customLong("init-from"), help: "Start a new run from a trained model's weights: a network directory (ours or flyvis's), optionally with :best, :last or :N (default best). Loads the network and, where the shapes fit, the decoder.")
    var initFrom: String?

    var rootURL: URL {
        let path = root ?? ProcessInfo.processInfo.environment["FLYVIS_ROOT_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "./data"
        return URL(fileURLWithPath: (path as NSString).expandingTildeInPath).standardizedFileURL
    }

    var configDirs: [URL] { configDir.map { URL(fileURLWithPath: $0).standardizedFileURL } }

    func validateCommon() throws {
        guard requestedThreads >= 1 else { throw ValidationError("--threads must be at least 1") }
        let cores = availableCores()
        if requestedThreads > cores {
            warn("--threads \(requestedThreads) is more than the \(cores) core(s) this process may use; using \(cores)")
        }
        if let s = ProcessInfo.processInfo.environment["FLYVIS_BLAS_THREADS"], !(Int(s).map { $0 >= 1 } ?? false) {
            throw ValidationError("FLYVIS_BLAS_THREADS='\(s)' is not a positive integer; set it to a thread count such as 1, or unset it")
        }
        if let initFrom { _ = try InitSource.parse(initFrom) }
        for d in configDir {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: d, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--config-dir '\(d)' is not a directory")
            }
        }
    }

    func applyThreads() {
        var env = ProcessInfo.processInfo.environment
        if env["FLYVIS_BLAS_THREADS"] == nil { env["FLYVIS_BLAS_THREADS"] = String(threads) }
        BLAS.configureThreads(defaultThreads: threads, environment: env)
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
/// of the ensemble, so both produce identical results.
struct SolverMemberTrainer: MemberTrainer {
    let overrides: [String]
    var perMember: [Int: [String]] = [:]
    let common: CommonOptions
    let taskName: String
    let ensembleDirectory: URL?

    func config(for member: MemberID) throws -> Config {
        try Build.loadConfig(overrides: overrides + ["task_name=\(taskName)", "ensemble_and_network_id=\(member.name)",
                                                "seed=\(member.seed)"] + (perMember[member.member] ?? []),
                        configDirs: common.configDirs)
    }

    func train(_ member: MemberID, rank: Int, hooks: TrainingHooks) throws -> MemberOutcome {
        let config = try config(for: member)
        let log = TrainingLog(prefix: "rank \(rank) member \(member.name): ", echoToStderr: true)
        if let ens = ensembleDirectory {
            log.addFile(ens.appendingPathComponent(ResultsSchema.memberLog(member.member)))
        }
        // The ensemble always resumes: re-running a job never discards finished work.
        let solver = try MultiTaskSolver(config: config, root: common.rootURL, resume: true, log: log, threads: common.threads)
        try common.initialize(solver)
        hooks.started(solver.iteration)
        var solverHooks = SolverHooks()
        let total = try config.int("task.n_iters")
        solverHooks.afterIteration = hooks.iteration
        solverHooks.progress = { iteration, rate in
            hooks.checkpoint(ProgressReport(member: member.member, rank: rank, state: .running, iteration: iteration,
                                            totalIterations: total, iterationsPerSecond: rate))
        }
        solverHooks.stopRequested = hooks.stopRequested
        solverHooks.afterCheckpoint = { index, iteration, loss, best, rate in
            hooks.checkpoint(ProgressReport(member: member.member, rank: rank, state: .running, iteration: iteration,
                                            totalIterations: total, valLoss: loss, bestValLoss: best,
                                            checkpointIndex: index, iterationsPerSecond: rate > 0 ? rate : nil))
        }
        switch try solver.train(overfit: try config.bool("overfit"), hooks: solverHooks) {
        case .finished:
            if !common.skipValidation { try solver.validateIfNeeded() }
            return .finished
        case .interrupted: return .interrupted
        }
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
