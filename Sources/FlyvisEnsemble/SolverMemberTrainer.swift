import FlyvisBase
import FlyvisConfig
import FlyvisResponses
import FlyvisResults
import FlyvisSolver
import Foundation

/// Runs one member through the shared solver core, as flyvis's `train-single` does: train (or
/// not), the optional untrained checkpoint, then the validation of every checkpoint once
/// trained to the end. Used by `train-single` and by every rank of an ensemble (both through
/// `MemberLifecycle`), so both produce identical results; tests run it without the binary.
package struct SolverMemberTrainer: MemberTrainer {
    package var settings: MemberRunSettings
    /// Overrides every member gets.
    package var overrides: [String]
    private let mode: Mode

    private enum Mode {
        /// Ensemble members: named `<task>/<EEEE>/<NNN>` with their own seeds, extra overrides
        /// per member, logs also in the ensemble folder; they always resume.
        case ensemble(taskName: String, directory: ResultsDirectory, perMember: [Int: [String]])
        /// `train-single`: one config, which says itself whether to resume.
        case single(Config)
    }

    /// The trainer of an ensemble's members.
    package static func ensemble(
        settings: MemberRunSettings, overrides: [String], perMember: [Int: [String]] = [:],
        taskName: String, directory: ResultsDirectory
    ) -> SolverMemberTrainer {
        SolverMemberTrainer(
            settings: settings, overrides: overrides,
            mode: .ensemble(taskName: taskName, directory: directory, perMember: perMember))
    }

    /// The trainer of one network whose config `resolveConfig` gives (`train-single`).
    package static func single(settings: MemberRunSettings, config: Config) -> SolverMemberTrainer {
        SolverMemberTrainer(settings: settings, overrides: [], mode: .single(config))
    }

    /// `train-single`'s config: the overrides over the defaults, or over the stored config
    /// when resuming.
    package static func resolveConfig(settings: MemberRunSettings, overrides: [String]) throws -> Config {
        try MultiTaskSolver.resolveConfig(overrides: overrides, configDirs: settings.configDirs, root: settings.root)
    }

    /// An ensemble member's config: the common overrides, its name and seed, its own overrides.
    package func config(for member: MemberID) throws -> Config {
        switch mode {
        case let .single(config):
            return config
        case let .ensemble(taskName, _, perMember):
            return try Build.loadConfig(
                overrides: overrides + ["task_name=\(taskName)", "ensemble_and_network_id=\(member.name)", "seed=\(member.seed)"]
                    + (perMember[member.member] ?? []),
                configDirs: settings.configDirs)
        }
    }

    package func train(_ member: MemberID, rank: Int, hooks: TrainingHooks) throws -> TrainingOutcome {
        switch mode {
        case let .single(config):
            return try run(config: config, resume: try config.bool(RunFlag.resume.key), hooks: hooks, log: TrainingLog())
        case let .ensemble(_, directory, _):
            return try run(
                config: try config(for: member), resume: true, hooks: hooks,
                log: TrainingLog(prefix: "rank \(rank) member \(member.name): ", echoToStderr: true),
                memberLog: directory.url.appendingPathComponent(ResultsSchema.memberLog(member.member)))
        }
    }

    /// The production sequence of one solver run. An ensemble member always resumes:
    /// re-running a job never discards work.
    package func run(
        config: Config, resume: Bool, hooks: TrainingHooks, log: TrainingLog, memberLog: URL? = nil
    ) throws
        -> TrainingOutcome
    {
        if let memberLog { log.addFile(memberLog) }
        let solver: MultiTaskSolver
        do {
            solver = try MultiTaskSolver(
                config: config, root: settings.root, resume: resume, log: log, threads: settings.threads,
                stopRequested: hooks.stopRequested)
        } catch SolverError.stopRequested {
            log.warning("Stop requested while the data set was being prepared; nothing was trained. Rerun to continue.")
            return .interrupted
        }
        solver.progressInterval = settings.progressInterval
        // --init-from applies to a run that has not trained yet (a resumed run keeps its weights).
        if let source = settings.initFrom, solver.checkpointIndex < 0 {
            try solver.initialize(from: source.directory, checkpoint: source.checkpoint)
        }
        let total = try config.int("task.n_iters")
        hooks.started(solver.iteration, total)
        let trained = try config.bool(RunFlag.train.key)
        if trained, try solver.train(overfit: try config.bool(RunFlag.overfit.key), hooks: hooks) == .interrupted {
            return .interrupted
        }
        if try config.bool(RunFlag.checkpointOnly.key) { try solver.checkpoint() }
        let done = solver.iteration >= total
        if done && trained && !settings.skipValidation,
            !(try solver.validateIfNeeded(stopRequested: hooks.stopRequested))
        {
            return .interrupted
        }
        if done && trained && settings.tuning {
            do {
                _ = try MemberTuning.ensure(
                    member: solver.directory.url, cacheRoot: settings.root, threads: settings.threads,
                    shouldStop: { StopSignal.isSet }, log: { log.info($0) })
            } catch ResponsesError.interrupted {
                log.warning("Stopped during the tuning readout; a rerun computes it.")
                return .interrupted
            }
        }
        log.info(String(format: "Done after %d iterations; peak RSS %.0f MB.", solver.iteration, peakResidentMB()))
        return done ? .finished : .notTrained
    }
}
