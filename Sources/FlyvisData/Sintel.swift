import FlyvisHDF5
import FlyvisHex
import Foundation

/// One rendered sequence: hex movies for one scene and one vertical split.
package struct RenderedSequence: Sendable, Equatable {
    /// flyvis's key, `sequence_{i:02d}_{scene}_split_{j:02d}`.
    package var name: String
    package var frames: Int
    /// (frames, 1, hexals)
    package var lum: [Float]
    /// (frames, 2, hexals), x right and y up, in image heights per source frame.
    package var flow: [Float]?
    /// (frames, 1, hexals)
    package var depth: [Float]?
}

/// How raw frames become hex sequences (flyvis's RenderedSintel arguments).
package struct RenderConfig: Sendable, Equatable {
    package var extent = 15
    package var kernelSize = 13
    package var verticalSplits = 3
    package var nFrames = 19
    package var centerCropFraction: Double? = 0.7
    package var depth = false

    package init() {}

    /// Text identifying the rendering, for the cache key.
    package var key: String {
        "extent=\(extent) kernel_size=\(kernelSize) vertical_splits=\(verticalSplits) n_frames=\(nFrames) "
            + "center_crop_fraction=\(centerCropFraction.map { "\($0)" } ?? "none") depth=\(depth)"
    }
}

/// Column ranges of the centre crop and vertical splits (flyvis's center_crop + split).
func splitColumns(width: Int, outElements: Int, splits: Int, cropFraction: Double?) -> [Range<Int>] {
    var lo = 0, n = width
    if let f = cropFraction {
        let out = Int(f * Double(width))
        lo = (width - out) / 2
        n = (width + out) / 2 - lo
    }
    guard splits > 1 else { return [lo..<(lo + n)] }
    let out = max(outElements, Int(Double(n) / Double(splits)))
    let overlap = Int((Double(out * splits - n) / Double(splits - 1)).rounded(.up))
    return (0..<splits).map { i in (lo + i * out - i * overlap)..<(lo + (i + 1) * out - i * overlap) }
}

/// Renders one frame (height × width) through crop, splits and the BoxEye; returns per split
/// the hexal values.
func renderFrame(_ frame: [Float], height: Int, width: Int, eye: BoxEye, config: RenderConfig,
                 filter: BoxEye.Filter) -> [[Float]] {
    let columns = splitColumns(width: width, outElements: eye.minFrameSize.width + 2 * eye.kernelSize,
                               splits: config.verticalSplits, cropFraction: config.centerCropFraction)
    return columns.map { cols in
        let w = cols.count
        var part = [Float](repeating: 0, count: height * w)
        for y in 0..<height {
            for (x, c) in cols.enumerated() where c >= 0 && c < width { part[y * w + x] = frame[y * width + c] }
        }
        return eye.render(part, height: height, width: w, filter: filter)
    }
}

/// Non-finite input (NaN or inf in a .flo or .dpt) is named here, once, when it is rendered;
/// otherwise it surfaces much later as a NaN loss that looks like a learning-rate problem.
func checkFinite(_ arrays: [Float]..., path: String) throws(DataError) {
    let bad = arrays.reduce(0) { n, a in n + a.reduce(0) { $0 + ($1.isFinite ? 0 : 1) } }
    if bad > 0 {
        throw .unreadable(path: path, reason: "it holds \(bad) non-finite values (NaN or inf); replace the file with a good copy")
    }
}

/// A local MPI-Sintel copy in its standard layout (`training/final/<scene>/frame_NNNN.png`,
/// `training/flow/<scene>/frame_NNNN.flo`, optionally `training/depth/<scene>/frame_NNNN.dpt`).
package struct SintelFolder: Sendable {
    package let root: URL

    package init(root: URL) { self.root = root }

    var final: URL { root.appendingPathComponent("training/final") }
    var flow: URL { root.appendingPathComponent("training/flow") }
    var depth: URL { root.appendingPathComponent("training/depth") }

    /// Scene names in sorted order, after checking the layout.
    package func scenes(depth needDepth: Bool = false) throws(DataError) -> [String] {
        let fm = FileManager.default
        for (dir, what) in [(final, "training/final (the rendered frames)"), (flow, "training/flow (the .flo files)")]
            + (needDepth ? [(depth, "training/depth (the .dpt files; only needed for the depth task)")] : []) {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
                throw .missingFolder(path: dir.path, hint: "expected \(what) inside the Sintel folder '\(root.path)'; download MPI-Sintel-complete and unpack it there, or omit the Sintel path to use the built-in data set")
            }
        }
        let names = ((try? fm.contentsOfDirectory(atPath: final.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        guard !names.isEmpty else { throw .missingFolder(path: final.path, hint: "no scene folders found") }
        return names
    }

    func files(_ dir: URL, _ scene: String, _ ext: String) -> [String] {
        let d = dir.appendingPathComponent(scene)
        return ((try? FileManager.default.contentsOfDirectory(atPath: d.path)) ?? [])
            .filter { $0.hasSuffix(ext) }.sorted().map { d.appendingPathComponent($0).path }
    }

    /// What the input files are: every frame, flow and (with depth) depth file by relative
    /// path, size and modification time (ns), hashed. A file replaced in place (a broken
    /// `.flo` by a good one) changes it, so a cached rendering of the old files is not reused.
    package func fingerprint(depth needDepth: Bool = false) throws(DataError) -> (files: Int, hash: String) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var count = 0
        let base = root.standardizedFileURL.path.count + 1
        for scene in try scenes(depth: needDepth) {
            let lists = [files(final, scene, ".png"), files(flow, scene, ".flo")] + (needDepth ? [files(depth, scene, ".dpt")] : [])
            for path in lists.joined() {
                var st = stat()
                let line: String
                if stat(path, &st) == 0 {
                    line = "\(path.dropFirst(base)) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)\n"
                } else {
                    line = "\(path.dropFirst(base)) unreadable\n"
                }
                for b in line.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
                count += 1
            }
        }
        return (count, String(format: "%016llx", h))
    }

    /// Renders every scene with at least nFrames + 1 frames; sequence keys as flyvis's.
    /// A stop request ends it between scenes (`DataError.stopRequested`).
    package func render(_ config: RenderConfig, progress: (String) -> Void = { _ in },
                        stop: () -> Bool = { false }) throws(DataError) -> [RenderedSequence] {
        let eye = BoxEye(extent: config.extent, kernelSize: config.kernelSize)
        var out: [RenderedSequence] = []
        for (i, scene) in try scenes(depth: config.depth).enumerated() {
            if stop() { throw .stopRequested }
            let allFiles = ((try? FileManager.default.contentsOfDirectory(atPath: final.appendingPathComponent(scene).path)) ?? [])
            guard allFiles.count - 1 >= config.nFrames else { continue }
            let pngs = files(final, scene, ".png")
            let flos = files(flow, scene, ".flo")
            guard flos.count == pngs.count - 1 else {
                throw .frameCountMismatch(scene: scene, frames: pngs.count, flows: flos.count)
            }
            let dpts = config.depth ? files(depth, scene, ".dpt") : []
            if config.depth && dpts.count != pngs.count {
                throw .frameCountMismatch(scene: scene + " (depth)", frames: pngs.count, flows: dpts.count)
            }
            progress("rendering \(scene) (\(pngs.count - 1) frames)")
            let T = pngs.count - 1
            let splits = max(config.verticalSplits, 1)
            var lum = [[Float]](repeating: [], count: splits)
            var flow = [[Float]](repeating: [], count: splits)
            var depth = [[Float]](repeating: [], count: splits)
            var size: (Int, Int)?
            for k in 0..<T {
                // lum[k] is PNG k+2; flow[k] is the motion from PNG k+1 to PNG k+2.
                let l = try PNGFile.readLuminance(pngs[k + 1])
                if let s = size, s != (l.height, l.width) {
                    throw .sizeMismatch(path: pngs[k + 1], expected: "\(s.0)×\(s.1)", found: "\(l.height)×\(l.width)")
                }
                size = (l.height, l.width)
                for (j, v) in renderFrame(l.values, height: l.height, width: l.width, eye: eye, config: config, filter: .mean).enumerated() {
                    lum[j] += v
                }
                let f = try FloFile.read(flos[k])
                try checkFinite(f.u, f.v, path: flos[k])
                guard (f.height, f.width) == (l.height, l.width) else {
                    throw .sizeMismatch(path: flos[k], expected: "\(l.height)×\(l.width)", found: "\(f.height)×\(f.width)")
                }
                // Units of image heights per frame, y up.
                let h = Float(f.height)
                let fx = renderFrame(f.u.map { $0 / h }, height: f.height, width: f.width, eye: eye, config: config, filter: .sum)
                let fy = renderFrame(f.v.map { -$0 / h }, height: f.height, width: f.width, eye: eye, config: config, filter: .sum)
                for j in 0..<splits { flow[j] += fx[j] + fy[j] }
                if config.depth {
                    let d = try DepthFile.read(dpts[k + 1])
                    try checkFinite(d.values, path: dpts[k + 1])
                    for (j, v) in renderFrame(d.values, height: d.height, width: d.width, eye: eye, config: config, filter: .median).enumerated() {
                        depth[j] += v
                    }
                }
            }
            for j in 0..<splits {
                out.append(RenderedSequence(name: String(format: "sequence_%02d_%@_split_%02d", i, scene, j), frames: T,
                                            lum: lum[j], flow: flow[j], depth: config.depth ? depth[j] : nil))
            }
        }
        guard !out.isEmpty else { throw .emptyDataset("no Sintel scene in '\(root.path)' has \(config.nFrames + 1) frames") }
        return out
    }
}

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
              let names = try? f.children("/") else { return nil }
        var out: [RenderedSequence] = []
        for name in names {
            guard let lum = try? f.read("\(name)/lum", as: Float.self) else { return nil }
            let flow = f.exists("\(name)/flow") ? (try? f.read("\(name)/flow", as: Float.self))?.values : nil
            let depth = f.exists("\(name)/depth") ? (try? f.read("\(name)/depth", as: Float.self))?.values : nil
            out.append(RenderedSequence(name: name, frames: lum.shape[0], lum: lum.values, flow: flow, depth: depth))
        }
        return out.sorted { $0.name < $1.name }
    }

    package static func store(_ sequences: [RenderedSequence], in dir: URL, key: String, fingerprint: String? = nil,
                             hexals: Int) throws {
        let url = dir.appendingPathComponent("sequences.h5")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // Named like AtomicFile's temporaries (PID, random, host), so ranks on different hosts
        // sharing the cache never collide and stale ones can be told apart.
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, 255)
        let tmp = dir.appendingPathComponent(".sequences.h5.tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        do {
            let f = try HDF5File(path: tmp.path, mode: .truncate)
            for s in sequences {
                try f.write("\(s.name)/lum", s.lum, shape: [s.frames, 1, hexals])
                if let flow = s.flow { try f.write("\(s.name)/flow", flow, shape: [s.frames, 2, hexals]) }
                if let depth = s.depth { try f.write("\(s.name)/depth", depth, shape: [s.frames, 1, hexals]) }
            }
            try f.setAttribute("key", string: key)
            if let fingerprint { try f.setAttribute("inputs", string: fingerprint) }
            try f.close()
            guard rename(tmp.path, url.path) == 0 else { throw DataError.unreadable(path: url.path, reason: "rename failed") }
        } catch HDF5Error.noSpace(_, let quota) {
            try? FileManager.default.removeItem(at: tmp)
            throw HDF5Error.noSpace(file: url.path, quota: quota)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
    }

    /// Loads the cached rendering or renders and stores it. `fingerprint` identifies the input
    /// files (nil for generated data); a cache made from other inputs is rendered again.
    /// `log` hears which of the two happened.
    package static func loadOrRender(root: URL, kind: String, key: String, fingerprint: String? = nil, hexals: Int,
                                    log: (String) -> Void = { _ in }, stop: () -> Bool = { false },
                                    render: () throws -> [RenderedSequence]) throws -> [RenderedSequence] {
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
           (try? f.stringAttribute("inputs")) != fingerprint {
            log("The input files changed since \(file) was rendered; rendering again")
        }
        let sequences = try render()
        // A rendering cut short by a stop request is never cached.
        if stop() { throw DataError.stopRequested }
        try store(sequences, in: dir, key: key, fingerprint: fingerprint, hexals: hexals)
        return sequences.sorted { $0.name < $1.name }
    }
}

/// An exclusive `flock` on `<cache dir>.lock` while a rendering is made, waited for while
/// another process renders. Best effort: where the file system refuses locks, every process
/// renders (the cache file is still written atomically, so the result is the same).
final class RenderLock {
    private var fd: Int32 = -1
    /// True when another process held the lock first (so the cache may be ready now).
    private(set) var waited = false
    /// True when a stop request ended the wait (the lock is not held).
    private(set) var stopped = false

    /// Waits by polling, so that a stop request ends the wait (a blocking `flock` restarts
    /// after the signal handler and would wait for the whole rendering).
    init(directory: URL, stop: () -> Bool = { false }) {
        try? FileManager.default.createDirectory(at: directory.deletingLastPathComponent(), withIntermediateDirectories: true)
        fd = open(directory.path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EAGAIN || errno == EINTR else { return }
            waited = true
            if stop() {
                stopped = true
                release()
                return
            }
            usleep(100_000)
        }
    }

    func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }
}
