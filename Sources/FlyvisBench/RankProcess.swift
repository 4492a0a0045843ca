import Foundation
import Synchronization

/// One child process of `bench --concurrent`: started with pipes on stdin, stdout and
/// stderr; a thread posts its stdout lines to the phase's RankMessages and another keeps the
/// end of its stderr for the error message if it fails.
package final class RankProcess {
    package let name: String
    package let pid: pid_t
    private let process: Process
    private let input: FileHandle
    private let errors = ErrorTail()

    /// The end of the child's stderr, filled by its reader thread.
    private final class ErrorTail: Sendable {
        static let capacity = 4096
        let bytes = Mutex<[UInt8]>([])
        let done = DispatchSemaphore(value: 0)
    }

    /// Starts `executable` with `arguments`; `rank` is its index in `messages`.
    package init(
        name: String, rank: Int, executable: URL, arguments: [String], messages: RankMessages
    ) throws(NodeThroughputError) {
        self.name = name
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        p.standardInput = stdin
        p.standardOutput = stdout
        p.standardError = stderr
        do {
            try p.run()
        } catch {
            throw .launch(executable: executable.path, reason: "\(error)")
        }
        pid = p.processIdentifier
        guard ChildReaper.register(pid) else {
            kill(pid, SIGKILL)
            p.waitUntilExit()
            throw .launch(executable: executable.path, reason: "more than \(ChildReaper.capacity) children at once")
        }
        process = p
        input = stdin.fileHandleForWriting
        let output = stdout.fileHandleForReading
        Thread.detachNewThread {
            var reader = LineReader(descriptor: output.fileDescriptor)
            while let line = reader.next() { messages.post(.line(rank: rank, text: line)) }
            messages.post(.closed(rank: rank))
        }
        let errorOutput = stderr.fileHandleForReading
        Thread.detachNewThread { [errors] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(errorOutput.fileDescriptor, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                errors.bytes.withLock { tail in
                    tail.append(contentsOf: buffer[..<n])
                    if tail.count > ErrorTail.capacity { tail.removeFirst(tail.count - ErrorTail.capacity) }
                }
            }
            errors.done.signal()
        }
    }

    /// Writes one line to the child's stdin; false if the child no longer reads it.
    package func send(_ line: String) -> Bool { LineReader.write(line, to: input.fileDescriptor) }

    /// Waits up to `grace` seconds for the child to exit, kills it if it has not, and says
    /// how it ended ("exited with status 1", "was killed by signal 9").
    @discardableResult
    package func finish(grace: Double) -> String {
        let deadline = Date(timeIntervalSinceNow: grace)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
        ChildReaper.forget(pid)
        let status = process.terminationStatus
        return process.terminationReason == .uncaughtSignal ? "was killed by signal \(status)" : "exited with status \(status)"
    }

    /// True if the child exited with status 0; only after `finish`.
    package var succeeded: Bool { process.terminationReason == .exit && process.terminationStatus == 0 }

    /// The last few kilobytes the child wrote to stderr; only complete after `finish`.
    package var stderrTail: String {
        _ = errors.done.wait(timeout: .now() + 2)
        errors.done.signal()  // a second call does not wait again
        return errors.bytes.withLock { String(decoding: $0, as: UTF8.self) }
    }
}
