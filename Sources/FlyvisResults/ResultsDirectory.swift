import FlyvisBase
import FlyvisHDF5
import Foundation

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
    package func write<T: HDF5Element>(
        _ key: String, _ values: [T], shape: [Int]? = nil,
        appendable: Bool = true
    ) throws {
        let shape = shape ?? [values.count]
        let rowSize = max(1, shape.dropFirst().reduce(1, *))
        try AtomicFile.write(file(key)) { tmp in
            let f = try HDF5File(path: tmp, mode: .truncate)
            try f.write(
                "data", values, shape: shape,
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
