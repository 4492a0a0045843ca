import FlyvisHDF5
import Foundation

/// Errors from the results tree, each naming the file and what to do.
package enum ResultsError: Error, CustomStringConvertible, Equatable {
    case io(path: String, reason: String)
    case missingKey(directory: String, key: String)
    case corruptCheckpoint(path: String, reason: String)
    case noValidCheckpoint(directory: String, problems: [String])
    case missingCheckpoint(directory: String, selector: String, available: [Int])
    /// The device or the quota is full while writing `path` (the file keeps its old content).
    case noSpace(path: String, quota: Bool)
    /// A member's stored config exists (or must exist) but cannot be read. Its identity
    /// (extent, task, training length) is never guessed from the defaults.
    case unreadableMeta(path: String, reason: String)

    package var description: String {
        switch self {
        case let .unreadableMeta(path, reason):
            return "the stored config '\(path)' cannot be read (\(reason)); it defines this member (network, task, training length), "
                + "so nothing was run or written. Restore the file (from a backup, or a sibling member's with its own seed), "
                + "or start the member over with delete_if_exists=true"
        case let .io(path, reason):
            return "cannot write '\(path)': \(reason)"
        case let .missingKey(directory, key):
            return "results directory '\(directory)' has no '\(key).h5'"
        case let .corruptCheckpoint(path, reason):
            return "checkpoint '\(path)' is unusable (\(reason)); it will be skipped"
        case let .noValidCheckpoint(directory, problems):
            let detail = problems.isEmpty ? "none were written yet" : problems.joined(separator: "; ")
            return "no readable checkpoint in '\(directory)/chkpts' (\(detail)); start without resume=true"
        case let .noSpace(path, quota):
            return (quota ? "disk quota exceeded" : "no space left on device") + " while writing '\(path)'; free space and rerun with resume=true"
        case let .missingCheckpoint(directory, selector, available):
            return "'\(directory)' has no checkpoint \(selector); it has \(available.map(String.init).joined(separator: ", ")) (choose best, last or one of these)"
        }
    }
}

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
                throw posixError(errno, path: url.path)
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
    package static func writeBytes(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw posixError(errno, path: path) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                throw posixError(code, path: path)
            }
            offset += n
        }
        if close(fd) != 0 { throw posixError(errno, path: path) }
    }

    /// Flushes the file's data to disk before the rename makes it visible. On NFS a full
    /// disk may only show here.
    package static func syncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw posixError(errno, path: path) }
        defer { close(fd) }
        if fsync(fd) != 0, errno == ENOSPC || errno == EDQUOT || errno == EIO {
            throw posixError(errno, path: path)
        }
    }

    static func posixError(_ code: Int32, path: String) -> ResultsError {
        if code == ENOSPC || code == EDQUOT { return .noSpace(path: path, quota: code == EDQUOT) }
        return .io(path: path, reason: String(cString: strerror(code)))
    }

    /// Any error caused by a full device or quota becomes `noSpace` naming the real target
    /// (not the temporary file); other errors pass unchanged.
    package static func classify(_ error: Error, target: String) -> Error {
        if let quota = outOfSpace(error) { return ResultsError.noSpace(path: target, quota: quota) }
        return error
    }

    /// nil unless `error` reports ENOSPC (false) or EDQUOT (true), however it is wrapped.
    package static func outOfSpace(_ error: Error) -> Bool? {
        switch error {
        case let ResultsError.noSpace(_, quota): return quota
        case let HDF5Error.noSpace(_, quota): return quota
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
        ".\(name).\(kind)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(MemberLock.hostName)"
    }

    /// The writer of a temporary name from `temporaryName`, or nil for other files.
    static func temporaryOwner(_ fileName: String) -> (pid: Int32, host: String?)? {
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
        let host = MemberLock.hostName
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

    static func processIsAlive(_ pid: Int32) -> Bool {
        if pid == getpid() { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}

/// A datamate-style directory as flyvis writes it: every `key.h5` holds one dataset named
/// `data`, sub-directories are plain folders, and `_meta.yaml` holds the config and status.
/// h5py and flyvis's own readers can therefore read what we write.
package struct ResultsDirectory: Sendable, Equatable {
    package let url: URL

    package init(_ url: URL) { self.url = url }
    package init(path: String) { url = URL(fileURLWithPath: path) }

    package var path: String { url.path }

    package func subdirectory(_ name: String) -> ResultsDirectory {
        ResultsDirectory(url.appendingPathComponent(name))
    }

    package func file(_ key: String) -> URL { url.appendingPathComponent("\(key).h5") }

    package func contains(_ key: String) -> Bool {
        FileManager.default.fileExists(atPath: file(key).path)
    }

    package var exists: Bool { FileManager.default.fileExists(atPath: url.path) }

    /// Writes an array (atomic replace). Appendable keys are chunked along axis 0 with
    /// datamate's chunk size, so `extend` from h5py/datamate keeps working on them.
    package func write<T: HDF5Element>(_ key: String, _ values: [T], shape: [Int]? = nil,
                                      appendable: Bool = true) throws {
        let shape = shape ?? [values.count]
        let rowSize = max(1, shape.dropFirst().reduce(1, *))
        try AtomicFile.write(file(key)) { tmp in
            let f = try HDF5File(path: tmp, mode: .truncate)
            try f.write("data", values, shape: shape,
                        chunkRows: appendable && !shape.isEmpty ? max(1, (4096 + rowSize - 1) / rowSize) : nil)
            try f.close()
        }
    }

    /// Writes a rank-0 dataset, as datamate does for Python ints and floats.
    package func writeScalar<T: HDF5Element>(_ key: String, _ value: T) throws {
        try AtomicFile.write(file(key)) { tmp in
            let f = try HDF5File(path: tmp, mode: .truncate)
            try f.write("data", [value], shape: [])
            try f.close()
        }
    }

    /// Appends rows, rewriting the file atomically (histories are small; a crash mid-append
    /// must never leave a half-written loss file).
    package func extend<T: HDF5Element>(_ key: String, _ values: [T]) throws {
        var existing: [T] = []
        if contains(key) { existing = try read(key, as: T.self).values }
        try write(key, existing + values)
    }

    /// Keeps only the first `count` entries of a 1-D history (used to roll back to a
    /// checkpoint on resume before appending again).
    package func truncate<T: HDF5Element>(_ key: String, to count: Int, as: T.Type) throws {
        guard contains(key) else { return }
        let values = try read(key, as: T.self).values
        if values.count > count { try write(key, Array(values.prefix(count))) }
    }

    package func read<T: HDF5Element>(_ key: String, as: T.Type = T.self) throws -> HDF5Array<T> {
        guard contains(key) else { throw ResultsError.missingKey(directory: path, key: key) }
        return try HDF5File(path: file(key).path, mode: .readOnly).read("data", as: T.self)
    }

    /// Writes `_meta.yaml` atomically.
    package func writeMeta(_ yaml: String) throws {
        try AtomicFile.write(url.appendingPathComponent(ResultsSchema.meta), text: yaml)
    }

    /// The stored config's text; nil only for a directory that holds no member yet (a new
    /// run). A `_meta.yaml` that is unreadable, not UTF-8 or empty, or missing beside
    /// checkpoints or results, is an error: falling back to the defaults would overwrite the
    /// member with another model.
    package func readMeta() throws(ResultsError) -> String? {
        let file = url.appendingPathComponent(ResultsSchema.meta)
        var info = stat()
        guard lstat(file.path, &info) == 0 else {
            let code = errno
            guard code == ENOENT else { throw .unreadableMeta(path: file.path, reason: String(cString: strerror(code))) }
            if let held = heldResults() {
                throw .unreadableMeta(path: file.path, reason: "it is missing, but the directory holds \(held)")
            }
            return nil
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw .unreadableMeta(path: file.path, reason: "it is not a regular file")
        }
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw .unreadableMeta(path: file.path, reason: "\(error.localizedDescription)")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw .unreadableMeta(path: file.path, reason: "it is not valid UTF-8 text")
        }
        guard !text.allSatisfy(\.isWhitespace) else { throw .unreadableMeta(path: file.path, reason: "it is empty") }
        return text
    }

    /// What marks this directory as an existing member: checkpoints or result files.
    private func heldResults() -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        if names.contains(CheckpointSchema.folder) { return "'\(CheckpointSchema.folder)/'" }
        if let h5 = names.sorted().first(where: { $0.hasSuffix(".h5") }) { return "results ('\(h5)')" }
        return nil
    }

    /// Public entries (no leading underscore or dot) with `.h5` stripped, sorted.
    package func entries() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { !$0.hasPrefix("_") && !$0.hasPrefix(".") }
            .map { $0.hasSuffix(".h5") ? String($0.dropLast(3)) : $0 }
            .sorted()
    }
}
