import Foundation

/// A fresh directory under the system's temporary folder, named after the test; the caller
/// removes it (`defer { try? FileManager.default.removeItem(at: dir) }`).
package func temporaryDirectory(_ name: String = #function) throws -> URL {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("flyvis-tests-\(safe)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A writable copy of a fixture tree (fixtures stay untouched by tests that write summaries
/// or checkpoints next to them), at `<into>/<the fixture's last path components>`.
package func copyFixture(_ source: URL, into directory: URL, keepingComponents n: Int = 1) throws -> URL {
    var target = directory
    for part in source.pathComponents.suffix(n) { target.appendPathComponent(part) }
    try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: source, to: target)
    // Fixtures may be checked out read-only; the copy must take new files.
    if let files = FileManager.default.enumerator(atPath: target.path) {
        for case let f as String in files { chmod(target.appendingPathComponent(f).path, 0o755) }
    }
    chmod(target.path, 0o755)
    return target
}
