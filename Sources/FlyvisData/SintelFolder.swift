import FlyvisHDF5
import FlyvisHex
import Foundation

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
func renderFrame(
    _ frame: [Float], height: Int, width: Int, eye: BoxEye, config: RenderConfig,
    filter: BoxEye.Filter
) -> [[Float]] {
    let columns = splitColumns(
        width: width, outElements: eye.minFrameSize.width + 2 * eye.kernelSize,
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
            + (needDepth ? [(depth, "training/depth (the .dpt files; only needed for the depth task)")] : [])
        {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
                throw .missingFolder(
                    path: dir.path,
                    hint:
                        "expected \(what) inside the Sintel folder '\(root.path)'; download MPI-Sintel-complete and unpack it there, or omit the Sintel path to use the built-in data set"
                )
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
    package func render(
        _ config: RenderConfig, progress: (String) -> Void = { _ in },
        stop: () -> Bool = { false }
    ) throws(DataError) -> [RenderedSequence] {
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
                for (j, v) in renderFrame(l.values, height: l.height, width: l.width, eye: eye, config: config, filter: .mean).enumerated()
                {
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
                    for (j, v) in renderFrame(d.values, height: d.height, width: d.width, eye: eye, config: config, filter: .median)
                        .enumerated()
                    {
                        depth[j] += v
                    }
                }
            }
            for j in 0..<splits {
                out.append(
                    RenderedSequence(
                        name: String(format: "sequence_%02d_%@_split_%02d", i, scene, j), frames: T,
                        lum: lum[j], flow: flow[j], depth: config.depth ? depth[j] : nil))
            }
        }
        guard !out.isEmpty else { throw .emptyDataset("no Sintel scene in '\(root.path)' has \(config.nFrames + 1) frames") }
        return out
    }
}
