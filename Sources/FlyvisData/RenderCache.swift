import FlyvisBase
import FlyvisHDF5
import FlyvisHex
import Foundation

/// Rendered sequences cached in one HDF5 file per rendering configuration, under
/// `<root>/renderings/<kind>_<hash>/sequences.h5`, written atomically, so that each (source,
/// configuration) pair is rendered once and every rank and run reuses it. The file also
/// records a fingerprint of the input files (`SintelFolder.fingerprint`); when the inputs
/// change, the rendering is made again in the same place.
package enum RenderCache {
    package static func directory(root: URL, kind: String, key: String) -> URL {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return root.appendingPathComponent("renderings").appendingPathComponent(String(format: "%@_%016llx", kind, h))
    }

    /// The cached sequences if the file exists, was made with `key` and (when given) from
    /// inputs with this `fingerprint`.
    package static func load(_ dir: URL, key: String, fingerprint: String? = nil) -> [RenderedSequence]? {
        let path = dir.appendingPathComponent("sequences.h5").path
        guard FileManager.default.fileExists(atPath: path),
            let f = try? HDF5File(path: path, mode: .readOnly),
            (try? f.stringAttribute("key")) == key,
            fingerprint == nil || (try? f.stringAttribute("inputs")) == fingerprint,
            let names = try? f.children("/")
        else { return nil }
        var out: [RenderedSequence] = []
        for name in names {
            guard let lum = try? f.read("\(name)/lum", as: Float.self) else { return nil }
            let flow = f.exists("\(name)/flow") ? (try? f.read("\(name)/flow", as: Float.self))?.values : nil
            let depth = f.exists("\(name)/depth") ? (try? f.read("\(name)/depth", as: Float.self))?.values : nil
            out.append(RenderedSequence(name: name, frames: lum.shape[0], lum: lum.values, flow: flow, depth: depth))
        }
        return out.sorted { $0.name < $1.name }
    }

    package static func store(
        _ sequences: [RenderedSequence], in dir: URL, key: String, fingerprint: String? = nil,
        hexals: Int
    ) throws {
        let url = dir.appendingPathComponent("sequences.h5")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try AtomicFile.write(url) { tmp in
            let f = try HDF5File(path: tmp, mode: .truncate)
            for s in sequences {
                try f.write("\(s.name)/lum", s.lum, shape: [s.frames, 1, hexals])
                if let flow = s.flow { try f.write("\(s.name)/flow", flow, shape: [s.frames, 2, hexals]) }
                if let depth = s.depth { try f.write("\(s.name)/depth", depth, shape: [s.frames, 1, hexals]) }
            }
            try f.setAttribute("key", string: key)
            if let fingerprint { try f.setAttribute("inputs", string: fingerprint) }
            try f.close()
        }
    }

    /// Loads the cached rendering or renders and stores it. `fingerprint` identifies the input
    /// files (nil for generated data); a cache made from other inputs is rendered again.
    /// `log` hears which of the two happened.
    package static func loadOrRender(
        root: URL, kind: String, key: String, fingerprint: String? = nil, hexals: Int,
        log: (String) -> Void = { _ in }, stop: () -> Bool = { false },
        render: () throws -> [RenderedSequence]
    ) throws -> [RenderedSequence] {
        let dir = directory(root: root, kind: kind, key: key)
        let file = dir.appendingPathComponent("sequences.h5").path
        if let cached = load(dir, key: key, fingerprint: fingerprint) {
            log("Reusing the cached rendering \(file)" + (fingerprint == nil ? "" : " (input files unchanged since it was made)"))
            return cached
        }
        // Several ranks (or jobs) that need the same rendering at once: one renders, the others
        // wait on this lock and then read what it wrote, instead of all rendering it.
        let lock = RenderLock(directory: dir, stop: stop)
        defer { lock.release() }
        if lock.stopped { throw DataError.stopRequested }
        if lock.waited, let cached = load(dir, key: key, fingerprint: fingerprint) {
            log("Reusing the rendering another process just made: \(file)")
            return cached
        }
        if let fingerprint, FileManager.default.fileExists(atPath: file),
            let f = try? HDF5File(path: file, mode: .readOnly), (try? f.stringAttribute("key")) == key,
            (try? f.stringAttribute("inputs")) != fingerprint
        {
            log("The input files changed since \(file) was rendered; rendering again")
        }
        let sequences = try render()
        // A rendering cut short by a stop request is never cached.
        if stop() { throw DataError.stopRequested }
        try store(sequences, in: dir, key: key, fingerprint: fingerprint, hexals: hexals)
        return sequences.sorted { $0.name < $1.name }
    }
}
