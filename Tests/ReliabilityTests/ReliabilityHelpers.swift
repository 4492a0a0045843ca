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
