import Foundation

/// Lines from a pipe, read with plain `read(2)` so that a line is returned as soon as it
/// arrives (FileHandle's reads wait for a full buffer or the end). The node-throughput
/// parent and its children talk through such lines.
package struct LineReader {
    private let descriptor: Int32
    private var pending: [UInt8] = []
    private var ended = false

    package init(descriptor: Int32) { self.descriptor = descriptor }

    /// The next line without its newline; nil once the writer has closed the pipe (a last
    /// line without a newline is still returned) or when reading fails.
    package mutating func next() -> String? {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            if ended {
                guard !pending.isEmpty else { return nil }
                defer { pending.removeAll() }
                return String(decoding: pending, as: UTF8.self)
            }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if n > 0 {
                pending.append(contentsOf: buffer[..<n])
            } else if n == 0 || errno != EINTR {
                ended = true
            }
        }
    }

    /// Writes `line` and a newline to `descriptor` in full; false when the reader has gone
    /// (EPIPE, with SIGPIPE ignored) or the write fails otherwise.
    package static func write(_ line: String, to descriptor: Int32) -> Bool {
        let bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }
}
