import FlyvisBase
import FlyvisConfig
import FlyvisResults
import FlyvisTestSupport
import Foundation

@testable import FlyvisSolver

/// The flyvis-ensemble binary under test.
var flyvisBinary: String { productPath("flyvis-ensemble") }

typealias Outcome = ProcessOutcome

/// Runs the binary to completion, with stdout and stderr kept apart.
func runFlyvis(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
    try runProcess(flyvisBinary, arguments, environment: environment.mapValues { $0 })
}

/// Small, fast runs: extent 4, a small built-in data set, batch 2.
enum Tiny {
    static let base = TinyConfig.overrides(checkpointEveryEpoch: 1)

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

var thisHost: String { HostName.current }

/// Trains a small member `<root>/results/flow/<id>` to `iterations` (one checkpoint per
/// epoch of 9 iterations) and returns its directory.
func trainTinyMember(
    root: URL, id: String = "0001/000", iterations: Int = 18, validate: Bool = false,
    _ extra: [String] = []
) throws -> URL {
    let r = try runFlyvis(
        [
            "train-single", "--root", root.path, "task_name=flow", "ensemble_and_network_id=\(id)",
            "task.n_iters=\(iterations)",
        ] + (validate ? [] : ["--skip-validation"]) + Tiny.base + extra)
    guard r.status == 0 else { throw TestSetupError("training \(id) failed (\(r.shellStatus)): \(r.output.suffix(2000))") }
    return root.appendingPathComponent("results/flow/\(id)")
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Every regular file below `dir` with its contents, to show that a refused command wrote
/// nothing there.
func snapshot(_ dir: URL) -> [String: Data] {
    var out: [String: Data] = [:]
    for case let path as String in FileManager.default.enumerator(atPath: dir.path) ?? NSEnumerator() {
        let url = dir.appendingPathComponent(path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue else { continue }
        out[path] = (try? Data(contentsOf: url)) ?? Data()
    }
    return out
}

/// Runs the binary under `timeout`, so a hang fails the test with status 124 instead of
/// stalling the suite.
func runFlyvisBounded(_ arguments: [String], seconds: Int = 300) throws -> Outcome {
    try runProcess("/usr/bin/timeout", ["-k", "10", "\(seconds)", flyvisBinary] + arguments)
}
