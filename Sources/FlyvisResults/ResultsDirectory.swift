import FlyvisHDF5
import Foundation

/// Errors from the results tree, each naming the file and what to do.
public enum ResultsError: Error, CustomStringConvertible, Equatable {
    case io(path: String, reason: String)
    case missingKey(directory: String, key: String)
    case corruptCheckpoint(path: String, reason: String)
    case noValidCheckpoint(directory: String, problems: [String])
    case missingCheckpoint(directory: String, selector: String, available: [Int])

    public var description: String {
        switch self {
        case let .io(path, reason):
            return "cannot write '\(path)': \(reason)"
        case let .missingKey(directory, key):
            return "results directory '\(directory)' has no '\(key).h5'"
        case let .corruptCheckpoint(path, reason):
            return "checkpoint '\(path)' is unusable (\(reason)); it will be skipped"
        case let .noValidCheckpoint(directory, problems):
            let detail = problems.isEmpty ? "none were written yet" : problems.joined(separator: "; ")
            return "no readable checkpoint in '\(directory)/chkpts' (\(detail)); start without resume=true"
        case let .missingCheckpoint(directory, selector, available):
            return "'\(directory)' has no checkpoint \(selector); it has \(available.map(String.init).joined(separator: ", ")) (choose best, last or one of these)"
        }
    }
}

/// Writes a file by building it under a temporary name in the same directory and renaming it
/// over the target, so readers (and a crash) only ever see the old or the new complete file.
public enum AtomicFile {
    public static func write(_ url: URL, _ build: (String) throws -> Void) throws {
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try build(tmp.path)
            try syncFile(tmp.path)
            if rename(tmp.path, url.path) != 0 {
                throw ResultsError.io(path: url.path, reason: String(cString: strerror(errno)))
            }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
    }

    /// Atomically replaces a text file.
    public static func write(_ url: URL, text: String) throws {
        try write(url) { tmp in
            try Data(text.utf8).write(to: URL(fileURLWithPath: tmp))
        }
    }

    /// Flushes the file's data to disk before the rename makes it visible.
    static func syncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ResultsError.io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        _ = fsync(fd)
    }
}

/// A datamate-style directory as flyvis writes it: every `key.h5` holds one dataset named
/// `data`, sub-directories are plain folders, and `_meta.yaml` holds the config and status.
/// h5py and flyvis's own readers can therefore read what we write.
public struct ResultsDirectory: Sendable, Equatable {
    public let url: URL

    public init(_ url: URL) { self.url = url }
    public init(path: String) { url = URL(fileURLWithPath: path) }

    public var path: String { url.path }

    public func subdirectory(_ name: String) -> ResultsDirectory {
        ResultsDirectory(url.appendingPathComponent(name))
    }

    public func file(_ key: String) -> URL { url.appendingPathComponent("\(key).h5") }

    public func contains(_ key: String) -> Bool {
        FileManager.default.fileExists(atPath: file(key).path)
    }

    public var exists: Bool { FileManager.default.fileExists(atPath: url.path) }

    /// Writes an array (atomic replace). Appendable keys are chunked along axis 0 with
    /// datamate's chunk size, so `extend` from h5py/datamate keeps working on them.
    public func write<T: HDF5Element>(_ key: String, _ values: [T], shape: [Int]? = nil,
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
    public func writeScalar<T: HDF5Element>(_ key: String, _ value: T) throws {
        try AtomicFile.write(file(key)) { tmp in
            let f = try HDF5File(path: tmp, mode: .truncate)
            try f.write("data", [value], shape: [])
            try f.close()
        }
    }

    /// Appends rows, rewriting the file atomically (histories are small; a crash mid-append
    /// must never leave a half-written loss file).
    public func extend<T: HDF5Element>(_ key: String, _ values: [T]) throws {
        var existing: [T] = []
        if contains(key) { existing = try read(key, as: T.self).values }
        try write(key, existing + values)
    }

    /// Keeps only the first `count` entries of a 1-D history (used to roll back to a
    /// checkpoint on resume before appending again).
    public func truncate<T: HDF5Element>(_ key: String, to count: Int, as: T.Type) throws {
        guard contains(key) else { return }
        let values = try read(key, as: T.self).values
        if values.count > count { try write(key, Array(values.prefix(count))) }
    }

    public func read<T: HDF5Element>(_ key: String, as: T.Type = T.self) throws -> HDF5Array<T> {
        guard contains(key) else { throw ResultsError.missingKey(directory: path, key: key) }
        return try HDF5File(path: file(key).path, mode: .readOnly).read("data", as: T.self)
    }

    /// Writes `_meta.yaml` atomically.
    public func writeMeta(_ yaml: String) throws {
        try AtomicFile.write(url.appendingPathComponent("_meta.yaml"), text: yaml)
    }

    public func readMeta() -> String? {
        try? String(contentsOf: url.appendingPathComponent("_meta.yaml"), encoding: .utf8)
    }

    /// Public entries (no leading underscore or dot) with `.h5` stripped, sorted.
    public func entries() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { !$0.hasPrefix("_") && !$0.hasPrefix(".") }
            .map { $0.hasSuffix(".h5") ? String($0.dropLast(3)) : $0 }
            .sorted()
    }
}
