import FlyvisBase
import FlyvisTorch
import Foundation

/// The checkpoint files of one network directory: `chkpts/chkpt_00000`, `chkpt_00001`, ...
/// Written in torch's zip format (flyvis loads them with `torch.load`), atomically (temporary
/// file, fsync, rename); read in that format or in our earlier HDF5 format.
package struct CheckpointStore: Sendable {
    package let directory: URL

    package init(networkDirectory: ResultsDirectory) {
        directory = networkDirectory.url.appendingPathComponent(CheckpointSchema.folder)
    }

    package func path(index: Int) -> URL {
        directory.appendingPathComponent(CheckpointSchema.fileName(index: index))
    }

    /// Indices present on disk, ascending (the first run of digits in each `chkpt_*` name,
    /// as flyvis resolves them).
    package func indices() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix(CheckpointSchema.filePrefix) }.compactMap { name -> Int? in
            let digits = name.drop { !$0.isNumber }.prefix { $0.isNumber }.prefix(10)
            return digits.isEmpty ? nil : Int(digits)
        }.sorted()
    }

    package func write(_ checkpoint: Checkpoint, index: Int) throws {
        try Self.write(checkpoint, to: path(index: index))
    }

    /// Writes one checkpoint file atomically in torch's format.
    package static func write(_ checkpoint: Checkpoint, to url: URL) throws {
        try AtomicFile.write(url) { tmp in
            try TorchCheckpointCodec.write(checkpoint, to: tmp, archiveName: url.lastPathComponent)
        }
    }

    /// Reads and verifies one checkpoint.
    package func read(index: Int) throws(ResultsError) -> Checkpoint {
        try Self.read(path(index: index).path)
    }

    /// Reads a checkpoint file in either format (torch zip, or the HDF5 format of earlier
    /// flyvis-swift versions, told apart by their first bytes).
    package static func read(_ path: String) throws(ResultsError) -> Checkpoint {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .corruptCheckpoint(path: path, reason: "no such file")
        }
        // A directory, FIFO or device named like a checkpoint is never opened (a FIFO would
        // block the reader, a directory make the zip reader seek forever).
        if let kind = RegularFile.irregularKind(path) {
            throw .corruptCheckpoint(path: path, reason: "it is \(kind), not a regular file")
        }
        let c =
            LegacyHDF5Checkpoint.looksLikeHDF5(path: path)
            ? try LegacyHDF5Checkpoint.read(path) : try TorchCheckpointCodec.read(path)
        try checkFinite(c, path: path)
        return c
    }

    /// A model with NaN or infinite parameters is no model: simulating it gives NaN, training
    /// from it diverges at once. Such a checkpoint is unusable like a damaged one (resume
    /// falls back to the previous checkpoint, naming this one).
    static func checkFinite(_ c: Checkpoint, path: String) throws(ResultsError) {
        var dicts = [("network", c.network)]
        for task in c.decoder.keys.sorted() { dicts.append(("decoder/\(task)", c.decoder[task]!)) }
        for (prefix, dict) in dicts {
            for name in dict.names where !(dict[name]?.isFinite ?? true) {
                throw .corruptCheckpoint(path: path, reason: "\(prefix)/\(name) holds NaN or infinite values")
            }
        }
    }

    /// The newest checkpoint that reads back and verifies, with a description of every newer
    /// one that was skipped (truncated, corrupted), so the caller can warn about them.
    package func latestValid(
        atMost maxIndex: Int? = nil
    ) throws(ResultsError)
        -> (index: Int, checkpoint: Checkpoint, skipped: [String])
    {
        var skipped: [String] = []
        for index in indices().reversed() where maxIndex.map({ index <= $0 }) ?? true {
            do {
                return (index, try read(index: index), skipped)
            } catch {
                skipped.append(error.description)
            }
        }
        throw .noValidCheckpoint(directory: directory.deletingLastPathComponent().path, problems: skipped)
    }
}
