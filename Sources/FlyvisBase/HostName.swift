import Foundation

/// This machine's host name, as temporary files and member locks record it: with the PID it
/// tells whether the writer may still be running.
package enum HostName {
    package static var current: String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "unknown-host" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
