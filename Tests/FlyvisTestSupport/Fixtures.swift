import FlyvisHDF5
import Foundation

/// The golden files in Tests/Fixtures, each replaceable through an environment variable so the
/// same tests run against other reference sets.
package enum Fixtures {
    package static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// `$variable` if set and non-empty, else `Tests/Fixtures/<name>`.
    package static func url(_ name: String, override variable: String) -> URL {
        if let p = ProcessInfo.processInfo.environment[variable], !p.isEmpty { return URL(fileURLWithPath: p) }
        return directory.appendingPathComponent(name)
    }

    /// The network golden file (connectome, parameters, simulation, gradients, decoder, steps).
    package static var network: URL { url("flyvis-1.2.0-seed0.h5", override: "FLYVIS_REFERENCE") }
    /// The data-pipeline golden file.
    package static var data: URL { url("flyvis-1.2.0-data-seed0.h5", override: "FLYVIS_DATA_REFERENCE") }
    /// A results tree written by flyvis's own trainer, with `expected.h5`.
    package static var results: URL { url("flyvis-results", override: "FLYVIS_RESULTS_REFERENCE") }
    /// An extent-15 results tree written by flyvis's own trainer (ensemble flow/9995).
    package static var resultsE15: URL { url("flyvis-results-e15", override: "FLYVIS_RESULTS_E15_REFERENCE") }
    /// A 4-member ensemble trained by flyvis-swift and validated with epe, with what flyvis's
    /// `EnsembleView(ens).task_error()` and `best_checkpoint_default_fn` say about it
    /// (`expected.json`, written by scripts/flyvis_task_error.py).
    package static var ensemble4: URL { url("flyvis-ensemble-4", override: "FLYVIS_ENSEMBLE_REFERENCE") }
    /// flyvis's stimulus-response analysis (flashes, moving edges, FRI, DSI) of resultsE15's
    /// member 000 at its best checkpoint.
    package static var responses: URL { url("flyvis-responses-e15.h5", override: "FLYVIS_RESPONSES_REFERENCE") }
    /// Stimuli made by flyvis itself that `responses` lacks (rotations off the axes, the
    /// slowest speed, other padding modes, a moving bar, other flashes) and HexEye's pixel masks
    /// (scripts/make_stimulus_fixture.py).
    package static var stimuli: URL { url("flyvis-stimuli-e15.h5", override: "FLYVIS_STIMULI_REFERENCE") }

    package static func open(_ url: URL) throws -> HDF5File { try HDF5File(path: url.path, mode: .readOnly) }
}

/// The largest |a − b|, or +∞ when the arrays differ in length or are empty, so that every
/// `maxAbsDiff(ours, ref) <= tolerance` fails on a missing, short or empty output.
package func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count, !a.isEmpty else { return .infinity }
    var worst: Float = 0
    for i in a.indices {
        let d = abs(a[i] - b[i])
        if d.isNaN { return .infinity }
        worst = max(worst, d)
    }
    return worst
}

/// The largest |a| (0 for an empty array, so a relative tolerance stays finite and
/// `maxAbsDiff`'s +∞ still fails it).
package func maxAbs(_ a: [Float]) -> Float { a.map { abs($0) }.max() ?? 0 }

/// The same for double-precision results against a float32 or float64 reference.
package func maxAbsDiff<R: BinaryFloatingPoint>(_ a: [Double], _ b: [R]) -> Double {
    guard a.count == b.count, !a.isEmpty else { return .infinity }
    var worst = 0.0
    for i in a.indices {
        let d = abs(a[i] - Double(b[i]))
        if d.isNaN { return .infinity }
        worst = max(worst, d)
    }
    return worst
}

/// True when both arrays have the same, non-zero length and every pair passes `close`.
package func allClose<A, B>(_ a: [A], _ b: [B], _ close: (A, B) -> Bool) -> Bool {
    a.count == b.count && !a.isEmpty && zip(a, b).allSatisfy(close)
}

// MARK: Processes

/// Locates an executable product next to the test bundle (same build configuration), or the
/// flyvis-ensemble given by FLYVIS_TEST_BINARY (to show that a test fails against a build
/// without the fix).
package func productPath(_ name: String) -> String {
    if name == "flyvis-ensemble", let p = ProcessInfo.processInfo.environment["FLYVIS_TEST_BINARY"], !p.isEmpty { return p }
    let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var candidates = [bundleDir.appendingPathComponent(name).path]
    for bundle in Bundle.allBundles {
        candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent(name).path)
    }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
}

/// How a child process ended: its exit status, or the signal that killed it, and what it wrote.
package struct ProcessOutcome: Sendable {
    package var status: Int32
    package var signaled: Bool
    package var stdout: String
    package var stderr: String
    package var output: String { stdout + stderr }
    /// The shell's view: 128 + signal for a crash (134 abort, 139 segfault).
    package var shellStatus: Int32 { signaled ? 128 + status : status }
}

/// A configured child process: environment additions (nil removes a variable) and directory.
private func process(
    _ executable: String, _ arguments: [String], environment: [String: String?],
    directory: URL?
) -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    if let directory { p.currentDirectoryURL = directory }
    return p
}

/// Runs a command to completion, with stdout and stderr kept apart.
package func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String?] = [:],
    directory: URL? = nil
) throws -> ProcessOutcome {
    let p = process(executable, arguments, environment: environment, directory: directory)
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Drain both pipes concurrently so a chatty child never blocks on a full pipe.
    final class Box: @unchecked Sendable { var data = Data() }
    let errBox = Box()
    let group = DispatchGroup()
    let errHandle = err.fileHandleForReading
    DispatchQueue.global().async(group: group) { errBox.data = errHandle.readDataToEndOfFile() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    return ProcessOutcome(
        status: p.terminationStatus, signaled: p.terminationReason == .uncaughtSignal,
        stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errBox.data, as: UTF8.self))
}

/// Runs a command and returns its exit status and combined output.
package func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let r = try runProcess(executable, arguments)
    return (r.status, r.output)
}

/// Starts a job in the background, its output discarded (for signal and polling tests).
package func launch(_ executable: String, _ arguments: [String], environment: [String: String?] = [:]) throws -> Process {
    let p = process(executable, arguments, environment: environment, directory: nil)
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    return p
}
