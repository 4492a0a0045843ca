import FlyvisBase
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on `<member dir>/.flyvis.lock`, held for the life of a run so that two
/// writers (two `train-single`s, or an ensemble job requeued while the old one still runs)
/// cannot interleave their appends. The kernel releases it when the process exits or is
/// killed, so a crash never leaves a stale lock; the file itself stays and is reused. The
/// holder writes its host and PID into it, so a refused writer can name them. `flock` works
/// on local file systems and on NFS (emulated with byte-range locks); on Lustre it needs the
/// `flock` mount option.
///
/// The lock excludes other processes. Within one process, locks on the same directory share
/// one descriptor (reference-counted), as POSIX record locks do: the process is one writer,
/// and a solver reopened in-process (as the tests do to simulate a resume) must not lock
/// itself out.
package final class MemberLock: @unchecked Sendable {
    package static let fileName = ResultsSchema.lock

    package let path: String
    private var released = false

    /// Takes the lock or fails at once (never waits). `fileName` is the member lock's unless
    /// another lock of the same kind is meant (the ensemble's).
    package init(directory: URL, fileName: String = MemberLock.fileName) throws(MemberLockError) {
        path = directory.appendingPathComponent(fileName).path
        try Self.registry.acquire(path, directory: directory.path)
    }

    deinit { release() }

    /// Releases the lock early (it is released anyway when the object or the process goes).
    package func release() {
        guard !released else { return }
        released = true
        Self.registry.release(path)
    }

    /// The descriptors this process holds, by lock file path, with their reference counts.
    final class Registry: @unchecked Sendable {
        private let mutex = NSLock()
        private var held: [String: (fd: Int32, count: Int)] = [:]

        func acquire(_ path: String, directory: String) throws(MemberLockError) {
            mutex.lock(); defer { mutex.unlock() }
            let key = Self.key(path)
            if let h = held[key] {
                held[key] = (h.fd, h.count + 1)
                return
            }
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                close(fd)
                if code == EWOULDBLOCK || code == EAGAIN {
                    throw .held(directory: directory, holder: MemberLock.describeHolder(path))
                }
                throw .unsupported(path: path, reason: String(cString: strerror(code)))
            }
            // Record who holds it (best effort: a full disk must not stop the run from locking).
            let text = "host: \(HostName.current)\npid: \(getpid())\nsince: \(ISO8601DateFormatter().string(from: Date()))\n"
            _ = ftruncate(fd, 0)
            _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
            held[key] = (fd, 1)
        }

        func release(_ path: String) {
            mutex.lock(); defer { mutex.unlock() }
            let key = Self.key(path)
            guard let h = held[key] else { return }
            if h.count > 1 { held[key] = (h.fd, h.count - 1); return }
            held[key] = nil
            _ = flock(h.fd, LOCK_UN)
            close(h.fd)
        }

        /// The lock file's real path (symlinks resolved), so two spellings share one entry.
        static func key(_ path: String) -> String {
            guard let r = realpath(path, nil) else { return path }
            defer { free(r) }
            return String(cString: r)
        }
    }

    static let registry = Registry()

    /// Whether a live process holds the lock of `directory` (this one included), tested
    /// without creating or writing anything: a shared lock is tried and at once dropped. nil
    /// when it cannot tell: no lock file (a directory written elsewhere, or before locks), or a
    /// file system without `flock`.
    package static func isHeld(directory: URL, fileName: String = MemberLock.fileName) -> Bool? {
        let fd = open(directory.appendingPathComponent(fileName).path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            _ = flock(fd, LOCK_UN)
            return false
        }
        return errno == EWOULDBLOCK || errno == EAGAIN ? true : nil
    }

    /// "held by host H, PID P, since T" from the holder's lock file.
    static func describeHolder(_ path: String) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return "holder unknown: the lock file cannot be read"
        }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        guard let host = fields["host"], let pid = fields["pid"] else {
            return "held by a process that has not yet recorded its host and PID"
        }
        return "held by host \(host), PID \(pid)" + (fields["since"].map { ", since \($0)" } ?? "")
    }
}
