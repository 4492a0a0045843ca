import FlyvisHDF5
import Foundation

/// One array in a checkpoint, in the element type it is stored with.
public enum CheckpointArray: Sendable, Equatable {
    case float([Float], shape: [Int])
    case double([Double], shape: [Int])
    case int64([Int64], shape: [Int])
    case uint8([UInt8], shape: [Int])

    public var shape: [Int] {
        switch self {
        case let .float(_, s), let .double(_, s), let .int64(_, s), let .uint8(_, s): return s
        }
    }

    public var floats: [Float]? { if case let .float(v, _) = self { return v } else { return nil } }
    public var doubles: [Double]? { if case let .double(v, _) = self { return v } else { return nil } }
    public var int64s: [Int64]? { if case let .int64(v, _) = self { return v } else { return nil } }
    public var bytes: [UInt8]? { if case let .uint8(v, _) = self { return v } else { return nil } }

    /// Raw little-endian bytes, for the checksum.
    var payload: [UInt8] {
        switch self {
        case let .float(v, _): return v.withUnsafeBytes { Array($0) }
        case let .double(v, _): return v.withUnsafeBytes { Array($0) }
        case let .int64(v, _): return v.withUnsafeBytes { Array($0) }
        case let .uint8(v, _): return v
        }
    }
}

/// Everything a checkpoint holds, keyed by flyvis's names (`network/nodes_bias`,
/// `decoder/flow/base.0.weight`, `optim/state/0/exp_avg`, ...), plus the scalar metadata that
/// flyvis keeps at the top level (`iteration`, `val_loss`, `dt`, `time`).
public struct CheckpointBundle: Sendable, Equatable {
    public var arrays: [String: CheckpointArray] = [:]
    public var iteration: Int = -1
    public var valLoss: Double = .nan
    public var dt: Double = 0
    public var time: String = ""

    public init() {}

    public subscript(key: String) -> CheckpointArray? {
        get { arrays[key] }
        set { arrays[key] = newValue }
    }

    /// Keys under a group prefix (e.g. "network/"), with the prefix removed, sorted.
    public func keys(under prefix: String) -> [String] {
        arrays.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }.sorted()
    }

    /// FNV-1a over every array (sorted by key, with its key and shape) and the scalar metadata.
    /// Stored in the file and re-checked on load, so a silently damaged checkpoint is detected.
    public var checksum: UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
            for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        }
        for key in arrays.keys.sorted() {
            let a = arrays[key]!
            mix(key.utf8)
            mix(a.shape.map(Int64.init).withUnsafeBytes { Array($0) })
            mix(a.payload)
        }
        mix([Int64(iteration)].withUnsafeBytes { Array($0) })
        mix([valLoss.bitPattern].withUnsafeBytes { Array($0) })
        mix([dt.bitPattern].withUnsafeBytes { Array($0) })
        mix(time.utf8)
        return h
    }
}

/// The checkpoint files of one network directory: `chkpts/chkpt_00000`, `chkpt_00001`, ...
/// Each is an HDF5 file written atomically (temporary file, flush, rename) with a checksum.
public struct CheckpointStore: Sendable {
    public let directory: URL

    public init(networkDirectory: ResultsDirectory) {
        directory = networkDirectory.url.appendingPathComponent("chkpts")
    }

    public func path(index: Int) -> URL {
        directory.appendingPathComponent(String(format: "chkpt_%05d", index))
    }

    /// Indices present on disk, ascending (the first run of digits in each `chkpt_*` name,
    /// as flyvis resolves them).
    public func indices() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix("chkpt_") }.compactMap { name -> Int? in
            let digits = name.drop { !$0.isNumber }.prefix { $0.isNumber }.prefix(10)
            return digits.isEmpty ? nil : Int(digits)
        }.sorted()
    }

    public func write(_ bundle: CheckpointBundle, index: Int) throws {
        try AtomicFile.write(path(index: index)) { tmp in
            let f = try HDF5File(path: tmp, mode: .truncate)
            for key in bundle.arrays.keys.sorted() {
                switch bundle.arrays[key]! {
                case let .float(v, s): try f.write(key, v, shape: s)
                case let .double(v, s): try f.write(key, v, shape: s)
                case let .int64(v, s): try f.write(key, v, shape: s)
                case let .uint8(v, s): try f.write(key, v, shape: s)
                }
            }
            try f.setAttribute("iteration", Int64(bundle.iteration))
            try f.setAttribute("val_loss", bundle.valLoss)
            try f.setAttribute("dt", bundle.dt)
            try f.setAttribute("time", string: bundle.time)
            try f.setAttribute("format", string: "flyvis-swift checkpoint v1")
            try f.setAttribute("checksum", Int64(bitPattern: bundle.checksum))
            try f.flush()
            try f.close()
        }
    }

    /// Reads and verifies one checkpoint.
    public func read(index: Int) throws(ResultsError) -> CheckpointBundle {
        let url = path(index: index)
        do {
            let f = try HDF5File(path: url.path, mode: .readOnly)
            var bundle = CheckpointBundle()
            for key in try datasetPaths(f, "/") {
                let s = try f.shape(key)
                switch try f.elementType(key) {
                case "float32": bundle[key] = .float(try f.read(key, as: Float.self).values, shape: s)
                case "float64": bundle[key] = .double(try f.read(key, as: Double.self).values, shape: s)
                case "uint8": bundle[key] = .uint8(try f.read(key, as: UInt8.self).values, shape: s)
                default: bundle[key] = .int64(try f.read(key, as: Int64.self).values, shape: s)
                }
            }
            bundle.iteration = Int(try f.attribute("iteration", as: Int64.self))
            bundle.valLoss = try f.attribute("val_loss", as: Double.self)
            bundle.dt = try f.attribute("dt", as: Double.self)
            bundle.time = try f.stringAttribute("time")
            let stored = UInt64(bitPattern: try f.attribute("checksum", as: Int64.self))
            guard stored == bundle.checksum else {
                throw ResultsError.corruptCheckpoint(path: url.path, reason: "checksum mismatch")
            }
            return bundle
        } catch let error as ResultsError {
            throw error
        } catch {
            throw .corruptCheckpoint(path: url.path, reason: "\(error)")
        }
    }

    /// The newest checkpoint that reads back and verifies, with a description of every newer
    /// one that was skipped (truncated, corrupted), so the caller can warn about them.
    public func latestValid(atMost maxIndex: Int? = nil) throws(ResultsError)
        -> (index: Int, bundle: CheckpointBundle, skipped: [String]) {
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

    private func datasetPaths(_ f: HDF5File, _ group: String) throws -> [String] {
        var out: [String] = []
        for child in try f.children(group) {
            let p = group == "/" ? child : "\(group)/\(child)"
            if (try? f.shape(p)) != nil {
                out.append(p)
            } else {
                out += try datasetPaths(f, p)
            }
        }
        return out
    }

}
