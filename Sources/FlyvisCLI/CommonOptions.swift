import ArgumentParser
import FlyvisBase
import FlyvisEnsemble
import FlyvisResults
import FlyvisSolver
import Foundation

/// Options every training command shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Root directory for results and renderings (default: $FLYVIS_ROOT_DIR, else ./data).")
    var root: String?

    @Option(
        name: .customLong("config-dir"),
        help: "Directory of YAML files that add or replace config groups (e.g. DIR/scheduler/fast.yaml, selected by scheduler=fast).")
    var configDir: [String] = []

    @Option(
        name: .customLong("threads"),
        help:
            "Threads per rank for the network and decoder kernels (default 1 per MPI rank). Give ranks × threads ≤ free cores: extra workers spin between time steps. Capped at the cores this process may use."
    )
    var requestedThreads: Int = 1

    /// `--threads`, capped at the cores this process may run on (more only spin).
    var threads: Int { min(max(requestedThreads, 1), availableCores()) }

    @Flag(
        name: .customLong("skip-validation"),
        help:
            "Do not validate every checkpoint with l2norm and epe when training finishes (flyvis's val_single; on by default so that flyvis's EnsembleView finds validation/epe.h5)."
    )
    var skipValidation = false

    @Flag(
        name: .customLong("no-tuning"),
        help:
            "Do not compute the tuning readout (flyvis's flash and moving-edge responses at the best checkpoint: FRI, DSI, correlations to known tuning) when training finishes."
    )
    var noTuning = false

    @Option(
        name: .customLong("init-from"),
        help:
            "Start a new run from a trained model's weights: a network directory (ours or flyvis's), optionally with :best, :last or :N (default best). Loads the network and, where the shapes fit, the decoder."
    )
    var initFrom: String?

    @Option(
        name: .customLong("progress-interval"),
        help:
            "Seconds between progress lines (iteration, it/s, ETA) and, in an ensemble, status table and report updates between checkpoints."
    )
    var progressInterval: Double = 30

    var rootURL: URL {
        let path = root ?? ProcessInfo.processInfo.environment["FLYVIS_ROOT_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "./data"
        return URL(fileURLWithPath: (path as NSString).expandingTildeInPath).standardizedFileURL
    }

    var configDirs: [URL] { configDir.map { URL(fileURLWithPath: $0).standardizedFileURL } }

    /// The settings members run with.
    func settings() throws -> MemberRunSettings {
        var s = MemberRunSettings(root: rootURL)
        s.configDirs = configDirs
        s.threads = threads
        s.progressInterval = progressInterval
        s.skipValidation = skipValidation
        s.tuning = !noTuning
        s.initFrom = try initFrom.map { try InitSource.parse($0) }
        return s
    }

    func validateCommon() throws {
        guard requestedThreads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard progressInterval >= 0, progressInterval.isFinite else {
            throw ValidationError("--progress-interval \(progressInterval) is not a number of seconds ≥ 0; use e.g. 30")
        }
        let cores = availableCores()
        if requestedThreads > cores {
            TrainingLog.console.warning(
                "--threads \(requestedThreads) is more than the \(cores) core(s) this process may use; using \(cores)")
        }
        if let initFrom {
            do { _ = try InitSource.parse(initFrom) } catch { throw ValidationError("--init-from: \(error)") }
        }
        for d in configDir {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: d, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--config-dir '\(d)' is not a directory")
            }
        }
    }
}
