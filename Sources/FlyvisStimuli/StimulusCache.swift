import FlyvisBase
import FlyvisHDF5
import FlyvisHex
import Foundation

/// Rendered stimulus frames, cached like the Sintel renderings: one HDF5 file per rendering
/// under `<root>/renderings/<name>_<hash of the cache key>/frames.h5`, holding what flyvis
/// caches (`RenderedOffsets`, before resampling: groups × frames per group × hexals, 1.5 MB for
/// the default moving edges) and the key it was made with. Every set with the same rendered
/// frames shares the file, whatever its dt, speeds or durations; a sample is assembled from its
/// group's frames, read from the file, when it is rendered.
///
/// Safe when several processes share the root: the file is written under a temporary name,
/// synced and renamed into place, and the process that renders holds an exclusive `flock` on
/// `<directory>.lock`, so the others wait and then read its file instead of rendering too.
package struct StimulusCache: Sendable {
    package let root: URL

    package init(root: URL) {
        self.root = root
    }

    /// Where `set`'s frames are cached.
    package func file(for set: some CacheableStimulusSet) -> URL {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, as RenderCache names its directories
        for b in set.cacheKey.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return root.appendingPathComponent("renderings")
            .appendingPathComponent(String(format: "%@_%016llx", set.name, h))
            .appendingPathComponent("frames.h5")
    }

    /// `set` backed by its cached frames, rendered and stored first if the cache lacks them
    /// (or holds a file made with another key, or damaged). `log` hears which happened.
    package func load<S: CacheableStimulusSet>(_ set: S, log: (String) -> Void = { _ in }) throws -> CachedStimulusSet {
        let url = file(for: set)
        if valid(url, for: set) {
            log("Reusing the cached \(set.name) frames \(url.path)")
            return CachedStimulusSet(set, file: url)
        }
        let directory = url.deletingLastPathComponent()
        let lock = RenderLock(directory: directory)
        defer { lock.release() }
        if lock.waited, valid(url, for: set) {
            log("Reusing the \(set.name) frames another process just rendered: \(url.path)")
            return CachedStimulusSet(set, file: url)
        }
        let layout = set.layout
        var frames = [Float](repeating: 0, count: layout.groups * layout.groupSize)
        try frames.withUnsafeMutableBufferPointer { try set.renderGroups(0..<layout.groups, into: $0) }
        try store(frames, layout: layout, key: set.cacheKey, at: url)
        log("Rendered \(set.name) frames into \(url.path)")
        return CachedStimulusSet(set, file: url)
    }

    /// Whether `url` holds frames made with `set`'s key, in its layout.
    private func valid(_ url: URL, for set: some CacheableStimulusSet) -> Bool {
        guard FileManager.default.fileExists(atPath: url.path),
            let f = try? HDF5File(path: url.path, mode: .readOnly),
            (try? f.stringAttribute("key")) == set.cacheKey,
            (try? f.elementType("frames")) == Float.typeName
        else { return false }
        let l = set.layout
        return (try? f.shape("frames")) == [l.groups, l.framesPerGroup, l.hexals]
    }

    private func store(_ frames: [Float], layout: FrameLayout, key: String, at url: URL) throws {
        let directory = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, 255)
        let hostName = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let tmp = directory.appendingPathComponent(".frames.h5.tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(hostName)")
        do {
            let f = try HDF5File(path: tmp.path, mode: .truncate)
            try f.write("frames", frames, shape: [layout.groups, layout.framesPerGroup, layout.hexals])
            try f.setAttribute("key", string: key)
            try f.close()
            try sync(tmp.path)
            guard rename(tmp.path, url.path) == 0 else {
                throw StimulusError.cache(
                    path: url.path, problem: "cannot rename the new file into place: \(String(cString: strerror(errno)))")
            }
            try? sync(directory.path)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
    }

    /// fsync, so a rename never exposes a file whose data is not on disk yet.
    private func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StimulusError.cache(path: path, problem: String(cString: strerror(errno))) }
        defer { close(fd) }
        if fsync(fd) != 0, errno != EINVAL {
            throw StimulusError.cache(path: path, problem: "fsync failed: \(String(cString: strerror(errno)))")
        }
    }
}
