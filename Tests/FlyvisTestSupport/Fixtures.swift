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

/// Locates an executable product next to the test bundle (same build configuration).
package func productPath(_ name: String) -> String {
    let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var candidates = [bundleDir.appendingPathComponent(name).path]
    for bundle in Bundle.allBundles {
        candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent(name).path)
    }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
}

/// Runs a command and returns its exit status and combined output.
package func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
