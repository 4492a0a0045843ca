import Foundation

/// Writes a file by building it under a temporary name in the same directory and renaming it
/// over the target, so readers (and a crash) only ever see the old or the new complete file.
/// Temporary names are `.<name>.tmp-<pid>-<random>-<host>`; a failed write removes its own,
/// and `removeStaleTemporaries` the ones a killed process left behind.
package enum AtomicFile {
    package static func write(_ url: URL, _ build: (String) throws -> Void) throws {
        let dir = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw classify(error, target: dir.path)
        }
        let tmp = dir.appendingPathComponent(temporaryName(for: url.lastPathComponent, kind: "tmp"))
        do {
            try build(tmp.path)
            try syncFile(tmp.path)
            if rename(tmp.path, url.path) != 0 {
                throw FileWriteError.posix(errno, path: url.path)
            }
        } catch {
            unlink(tmp.path)
            throw classify(error, target: url.path)
        }
    }

    /// Atomically replaces a text file.
    package static func write(_ url: URL, text: String) throws {
        try write(url) { tmp in try writeBytes(Array(text.utf8), to: tmp) }
    }

    /// Writes bytes with POSIX calls, so a full disk is reported as such (errno), not as
    /// Foundation's "Code=640 (null)".
    package static func writeBytes(_ bytes: [UInt8], to path: String) throws(FileWriteError) {
        let failure = bytes.withUnsafeBytes { raw -> FileWriteError? in
            do throws(FileWriteError) { try writeBytes(raw, to: path); return nil } catch { return error }
        }
        if let failure { throw failure }
    }

    /// The same for raw memory (the HDF5 wrapper's in-memory images). On failure the partial
    /// file is removed.
    package static func writeBytes(_ bytes: UnsafeRawBufferPointer, to path: String) throws(FileWriteError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .posix(errno, path: path) }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                unlink(path)
                throw .posix(code, path: path)
            }
            offset += n
        }
        if close(fd) != 0 {
            let code = errno
            unlink(path)
            throw .posix(code, path: path)
        }
    }

    /// Flushes the file's data to disk before the rename makes it visible. On NFS a full
    /// disk may only show here.
    package static func syncFile(_ path: String) throws(FileWriteError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .posix(errno, path: path) }
        defer { close(fd) }
        if fsync(fd) != 0, errno == ENOSPC || errno == EDQUOT || errno == EIO {
            throw .posix(errno, path: path)
        }
    }

    /// Any error caused by a full device or quota becomes `noSpace` naming the real target
    /// (not the temporary file); other errors pass unchanged.
    package static func classify(_ error: Error, target: String) -> Error {
        if let quota = outOfSpace(error) { return FileWriteError.noSpace(path: target, quota: quota) }
        return error
    }

    /// nil unless `error` reports ENOSPC (false) or EDQUOT (true), however it is wrapped.
    package static func outOfSpace(_ error: Error) -> Bool? {
        switch error {
        case let FileWriteError.noSpace(_, quota): return quota
        case let e as any FullDiskReporting: if let quota = e.fullDiskQuota { return quota }
        default: break
        }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain, ns.code == Int(ENOSPC) || ns.code == Int(EDQUOT) { return ns.code == Int(EDQUOT) }
        if ns.domain == NSCocoaErrorDomain, ns.code == CocoaError.fileWriteOutOfSpace.rawValue { return false }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? Error, let q = outOfSpace(underlying) { return q }
        // Libraries that only keep the message (the zip writer): match strerror's text.
        let text = "\(error)"
        if text.contains(String(cString: strerror(EDQUOT))) { return true }
        if text.contains(String(cString: strerror(ENOSPC))) { return false }
        return nil
    }

    // MARK: Temporary files

    /// `.<name>.<kind>-<pid>-<random>-<host>`: the PID and host say who may still be writing it.
    package static func temporaryName(for name: String, kind: String) -> String {
        ".\(name).\(kind)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(HostName.current)"
    }

    /// The writer of a temporary name from `temporaryName`, or nil for other files.
    package static func temporaryOwner(_ fileName: String) -> (pid: Int32, host: String?)? {
        guard fileName.hasPrefix(".") else { return nil }
        for kind in [".tmp-", ".bak-"] {
            guard let r = fileName.range(of: kind, options: .backwards) else { continue }
            let fields = fileName[r.upperBound...].split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count >= 1, let pid = Int32(fields[0]), pid > 0 else { continue }
            return (pid, fields.count == 3 ? String(fields[2]) : nil)
        }
        return nil
    }

    /// Removes temporary and backup files (`.<name>.tmp-…`, `.<name>.bak-…`) left by processes
    /// that are gone: written on this host by a PID that no longer runs, or — with
    /// `ownerIsGone` (the caller holds the directory's lock, so nobody else writes there) —
    /// any. Returns the removed paths.
    @discardableResult
    package static func removeStaleTemporaries(in dir: URL, recursive: Bool = true, ownerIsGone: Bool = false) -> [String] {
        let fm = FileManager.default
        var removed: [String] = []
        let host = HostName.current
        for name in (try? fm.contentsOfDirectory(atPath: dir.path)) ?? [] {
            let url = dir.appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else { continue }
            if isDir.boolValue {
                if recursive && !name.hasPrefix(".") {
                    removed += removeStaleTemporaries(in: url, recursive: true, ownerIsGone: ownerIsGone)
                }
                continue
            }
            guard let owner = temporaryOwner(name) else { continue }
            let gone = ownerIsGone || (owner.host == host && !processIsAlive(owner.pid))
            if gone, unlink(url.path) == 0 { removed.append(url.path) }
        }
        return removed
    }

    package static func processIsAlive(_ pid: Int32) -> Bool {
        if pid == getpid() { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}
