import Foundation

/// flyvis-style log lines (`[YYYY-MM-DD HH:MM:SS] source:line message`, here `[time] rank N
/// message`) to stderr and, when set, appended to a log file such as `<netdir>/train.log`.
/// A class because every part of one member's training shares the same open file.
package final class TrainingLog: @unchecked Sendable {
    private var handles: [FileHandle] = []
    private let lock = NSLock()
    package let prefix: String
    package var echoToStderr: Bool
    private var reportedFileError = false

    package init(prefix: String = "", echoToStderr: Bool = true) {
        self.prefix = prefix
        self.echoToStderr = echoToStderr
    }

    deinit { for h in handles { try? h.close() } }

    /// Also append to `url` (created if missing); earlier content is kept, so a resumed run
    /// continues the same log.
    package func addFile(_ url: URL) {
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: url.path) {
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        }
        guard let h = try? FileHandle(forWritingTo: url) else { return }
        _ = try? h.seekToEnd()
        lock.withLock { handles.append(h) }
    }

    package func info(_ message: String) { write("INFO", message) }
    package func warning(_ message: String) { write("WARNING", message) }
    package func error(_ message: String) { write("ERROR", message) }

    private func write(_ level: String, _ message: String) {
        let line = "[\(Self.timestamp())] \(prefix)\(level == "INFO" ? "" : level + ": ")\(message)\n"
        let data = Data(line.utf8)
        lock.withLock {
            // `write(contentsOf:)`, not `write(_:)`: the latter traps when the disk is full.
            if echoToStderr { try? FileHandle.standardError.write(contentsOf: data) }
            for h in handles {
                do { try h.write(contentsOf: data) } catch {
                    if !reportedFileError {
                        reportedFileError = true
                        try? FileHandle.standardError.write(contentsOf: Data("[\(Self.timestamp())] \(prefix)WARNING: cannot append to the log file (\(error)); logging to stderr only\n".utf8))
                    }
                }
            }
        }
    }

    static func timestamp() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        f.locale = Locale(identifier: "en_US_POSIX")
        return f.string(from: Date())
    }
}

/// Peak resident set size of this process in MB, from /proc (Linux) or getrusage: what a
/// rank costs a cluster node, printed by `bench` and at the end of every training run.
package func peakResidentMB() -> Double {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) {
        let kb = Double(line.split(separator: " ").dropFirst().first { !$0.isEmpty } ?? "0") ?? 0
        return kb / 1024
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}
