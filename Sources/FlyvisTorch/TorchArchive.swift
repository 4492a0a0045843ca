import FlyvisBase
import Foundation
import ZIPFoundation

/// torch's zip serialization (what `torch.save` writes since torch 1.6): a stored (uncompressed)
/// zip archive whose single top folder holds `data.pkl` (the pickled object, protocol 2),
/// `data/<key>` (raw little-endian tensor storages), `version`, `byteorder` and the format
/// records newer torch versions add. Written and read natively, without Python.
package enum TorchArchive {
    /// The serialization version torch 1.6+ writes and reads.
    static let version = "3\n"
    /// Entries get a fixed date, so that the same object always gives the same file.
    static let entryDate = Date(timeIntervalSince1970: 315_532_800)  // 1980-01-01, the zip epoch

    /// Writes `value` to `path` (the caller makes this atomic). `archiveName` is the top
    /// folder; torch uses the file's base name.
    package static func write(_ value: PickleValue, to path: String, archiveName: String) throws(TorchFormatError) {
        let encoded = PickleWriter.encode(value)
        var records: [(String, [UInt8])] = [
            ("data.pkl", encoded.bytes), (".format_version", Array("1".utf8)),
            (".storage_alignment", Array("64".utf8)), ("byteorder", Array("little".utf8)),
        ]
        for s in encoded.storages { records.append(("data/\(s.key)", s.bytes)) }
        records.append(("version", Array(version.utf8)))
        try writeRaw(records: records, to: path, archiveName: archiveName)
    }

    /// Writes `records` as stored entries under `archiveName/`, in the given order.
    package static func writeRaw(records: [(String, [UInt8])], to path: String, archiveName: String) throws(TorchFormatError) {
        // Built in memory and written with one checked POSIX write: ZIPFoundation's file mode
        // ignores a failed final fflush, which on a full disk leaves a truncated archive.
        let archive: Archive
        do {
            archive = try Archive(data: Data(), accessMode: .create)
            for (name, bytes) in records {
                let data = Data(bytes)
                try archive.addEntry(
                    with: "\(archiveName)/\(name)", type: .file, uncompressedSize: Int64(data.count),
                    modificationDate: entryDate, compressionMethod: .none
                ) { position, size in
                    data.subdata(in: Int(position)..<Int(position) + size)
                }
            }
        } catch {
            throw .io(path: path, reason: Self.reason(error))
        }
        guard let data = archive.data else { throw .io(path: path, reason: "the in-memory archive is missing") }
        try writeFile(data, to: path)
    }

    /// Reads a torch checkpoint: checks every record's CRC-32, runs the pickle and resolves the
    /// tensor storages.
    package static func read(path: String) throws(TorchFormatError) -> PickleValue {
        // Read whole first: only a regular file is opened, and the zip reader then works on
        // bytes of a known size (on a directory or FIFO it would seek and scan forever).
        let bytes: Data
        do { bytes = try RegularFile.contents(of: path) } catch {
            throw .notAZipArchive(path: path, reason: error.description)
        }
        let archive: Archive
        do {
            archive = try Archive(data: bytes, accessMode: .read)
        } catch {
            throw .notAZipArchive(path: path, reason: reason(error))
        }
        var entries: [String: Entry] = [:]
        for e in archive { entries[e.path] = e }
        guard let pkl = entries.keys.filter({ $0.hasSuffix("/data.pkl") || $0 == "data.pkl" }).min(by: { $0.count < $1.count }) else {
            throw .missingRecord(path: path, record: "data.pkl")
        }
        let prefix = String(pkl.dropLast("data.pkl".count))
        func record(_ name: String) throws(TorchFormatError) -> [UInt8] {
            guard let entry = entries[prefix + name] ?? entries[prefix + ".data/" + name] else {
                throw .missingRecord(path: path, record: prefix + name)
            }
            var out = [UInt8]()
            out.reserveCapacity(Int(entry.uncompressedSize))
            let crc: CRC32
            do {
                crc = try archive.extract(entry, skipCRC32: false) { chunk in out += chunk }
            } catch {
                throw .damagedRecord(path: path, record: entry.path, reason: reason(error))
            }
            // The consumer form of extract computes the CRC-32 but leaves the comparison to us.
            guard crc == entry.checksum else {
                throw .damagedRecord(path: path, record: entry.path, reason: "fails its CRC-32 check")
            }
            guard out.count == Int(entry.uncompressedSize) else {
                throw .damagedRecord(path: path, record: entry.path, reason: "holds \(out.count) of \(entry.uncompressedSize) bytes")
            }
            return out
        }
        let versionText = String(decoding: try record("version"), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let v = Int(versionText), (1...3).contains(v) else {
            throw .unsupported(path: path, reason: "serialization version '\(versionText)' (torch zip versions 1–3 are supported)")
        }
        if entries[prefix + "byteorder"] != nil {
            let order = String(decoding: try record("byteorder"), as: UTF8.self)
            guard order == "little" else {
                throw .unsupported(path: path, reason: "byte order '\(order)' (only little-endian is supported)")
            }
        }
        var reader = PickleReader(try record("data.pkl")) { ref in try record("data/\(ref.key)") }
        do {
            return try reader.load()
        } catch let e as TorchFormatError {
            throw e
        } catch let e as PickleError {
            throw .pickle(path: path, e)
        } catch {
            throw .damagedRecord(path: path, record: "data.pkl", reason: "\(error)")
        }
    }

    /// Writes the archive with checked POSIX writes (`AtomicFile.writeBytes`), so a full disk
    /// is an errno the caller reports (its message says "No space left on device").
    static func writeFile(_ data: Data, to path: String) throws(TorchFormatError) {
        do {
            try AtomicFile.writeBytes([UInt8](data), to: path)
        } catch {
            switch error {
            case let .io(_, reason): throw .io(path: path, reason: reason)
            case let .noSpace(_, quota): throw .io(path: path, reason: String(cString: strerror(quota ? EDQUOT : ENOSPC)))
            }
        }
    }

    static func reason(_ error: Error) -> String {
        if let e = error as? Archive.ArchiveError {
            switch e {
            case .invalidCRC32: return "fails its CRC-32 check"
            case .missingEndOfCentralDirectoryRecord: return "has no zip directory at its end"
            default: return "zip error \(e)"
            }
        }
        let ns = error as NSError
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        return "\(error)"
    }
}
