import Foundation
import Logging

/// The one owner of messages for people: every line on stderr and in log files goes through
/// here, through swift-log's `Logger`, in flyvis's style `[YYYY-MM-DD HH:MM:SS] <context>message`,
/// with `WARNING: ` or `ERROR: ` before the message when it is one. A member's training log
/// also appends to files such as `<netdir>/train.log`; `TrainingLog.console` is the commands'
/// own (warnings about options, errors before any log exists). A class because every part of
/// one member's training shares the same open files.
package final class TrainingLog: @unchecked Sendable {
    /// Where the lines go: stderr (optionally) and any added files.
    private let sink: LineSink
    package let logger: Logger
    package let prefix: String
    package var echoToStderr: Bool {
        get { sink.echoToStderr }
        set { sink.echoToStderr = newValue }
    }

    /// `prefix` says whose line it is (e.g. "rank 0 member 0045/003: ").
    package init(prefix: String = "", echoToStderr: Bool = true) {
        let sink = LineSink(echoToStderr: echoToStderr)
        self.sink = sink
        self.prefix = prefix
        logger = Logger(label: "flyvis") { _ in LineHandler(prefix: prefix, sink: sink) }
    }

    /// The commands' log: stderr only, no context.
    package static let console = TrainingLog()

    /// Also append to `url` (created if missing); earlier content is kept, so a resumed run
    /// continues the same log.
    package func addFile(_ url: URL) { sink.addFile(url) }

    package func info(_ message: String) { logger.info("\(message)") }
    package func warning(_ message: String) { logger.warning("\(message)") }
    package func error(_ message: String) { logger.error("\(message)") }

    /// The last line of a command that fails: `Error: <message>`, in one write so that it stays
    /// one line when several MPI ranks share the terminal (the form ArgumentParser uses for the
    /// errors it reports itself).
    package static func finalError(_ message: String) {
        try? FileHandle.standardError.write(contentsOf: Data("Error: \(message)\n".utf8))
    }

    static func timestamp() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        f.locale = Locale(identifier: "en_US_POSIX")
        return f.string(from: Date())
    }
}

/// swift-log's handler for our lines: formats and hands them to the sink.
private struct LineHandler: LogHandler {
    let prefix: String
    let sink: LineSink
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
        file: String, function: String, line: UInt
    ) {
        let tag: String
        switch level {
        case .trace, .debug, .info, .notice: tag = ""
        case .warning: tag = "WARNING: "
        case .error, .critical: tag = "ERROR: "
        }
        sink.write("[\(TrainingLog.timestamp())] \(prefix)\(tag)\(message)\n")
    }
}

/// stderr and the log files of one log, behind one lock.
private final class LineSink: @unchecked Sendable {
    private var handles: [FileHandle] = []
    private let lock = NSLock()
    private var reportedFileError = false
    private var echo: Bool

    init(echoToStderr: Bool) { echo = echoToStderr }

    deinit { for h in handles { try? h.close() } }

    var echoToStderr: Bool {
        get { lock.withLock { echo } }
        set { lock.withLock { echo = newValue } }
    }

    func addFile(_ url: URL) {
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: url.path) {
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        }
        guard let h = try? FileHandle(forWritingTo: url) else { return }
        _ = try? h.seekToEnd()
        lock.withLock { handles.append(h) }
    }

    func write(_ line: String) {
        let data = Data(line.utf8)
        lock.withLock {
            // `write(contentsOf:)`, not `write(_:)`: the latter traps when the disk is full.
            if echo { try? FileHandle.standardError.write(contentsOf: data) }
            for h in handles {
                do { try h.write(contentsOf: data) } catch {
                    if !reportedFileError {
                        reportedFileError = true
                        try? FileHandle.standardError.write(
                            contentsOf: Data(
                                "[\(TrainingLog.timestamp())] WARNING: cannot append to the log file (\(error)); logging to stderr only\n"
                                    .utf8))
                    }
                }
            }
        }
    }
}
