import Foundation
import FlyvisConfig
import FlyvisResults
@testable import FlyvisSolver

/// A fresh temporary directory, removed by the caller.
func scratchDirectory(_ name: String = #function) throws -> URL {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("flyvis-reliability-\(safe)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The flyvis-ensemble binary next to the test bundle (same build configuration), or
/// FLYVIS_TEST_BINARY (to show that a test fails against a build without the fix).
var flyvisBinary: String {
    if let p = ProcessInfo.processInfo.environment["FLYVIS_TEST_BINARY"], !p.isEmpty { return p }
    let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var candidates = [bundleDir.appendingPathComponent("flyvis-ensemble").path]
    for bundle in Bundle.allBundles {
        candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("flyvis-ensemble").path)
    }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
}

/// How a child process ended: its exit status, or the signal that killed it.
struct Outcome {
    var status: Int32
    var signaled: Bool
    var stdout: String
    var stderr: String
    var output: String { stdout + stderr }
    /// The shell's view: 128 + signal for a crash (134 abort, 139 segfault).
    var shellStatus: Int32 { signaled ? 128 + status : status }
}

/// Runs the binary to completion, with stdout and stderr kept apart.
func runFlyvis(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: flyvisBinary)
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
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
    let errData = errBox.data
    p.waitUntilExit()
    return Outcome(status: p.terminationStatus, signaled: p.terminationReason == .uncaughtSignal,
                   stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
}

/// Small, fast runs: extent 4, a small built-in data set, batch 2.
enum Tiny {
    static let base = ["network.connectome.extent=4", "task.dataset.boxfilter.extent=4",
                       "task.dataset.builtin.scenes=8", "task.batch_size=2", "scheduler.chkpt_every_epoch=1",
                       "scheduler.lr_net.start=1e-3", "scheduler.lr_dec.start=1e-3"]

    static func config(_ overrides: [String]) throws -> Config {
        try Config.load(overrides: base + overrides)
    }

    static func solver(root: URL, _ overrides: [String], resume: Bool = false) throws -> MultiTaskSolver {
        try MultiTaskSolver(config: config(overrides), root: root, resume: resume, log: TrainingLog(echoToStderr: false))
    }
}

/// A directory that looks like one flyvis wrote (a `_meta.yaml` of type NetworkDir).
func makeNetworkDirectory(_ url: URL, files: [String] = ["loss.h5"]) throws {
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    try Data("config:\n  type: NetworkDir\nstatus: done\n".utf8).write(to: url.appendingPathComponent(ResultsSchema.meta))
    for f in files { try Data("x".utf8).write(to: url.appendingPathComponent(f)) }
}

/// A PID that is certainly not running: a child that has exited and been reaped.
func deadPID() throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/true")
    try p.run()
    p.waitUntilExit()
    return p.processIdentifier
}

var thisHost: String {
    var buf = [CChar](repeating: 0, count: 256)
    gethostname(&buf, 255)
    return String(cString: buf)
}
