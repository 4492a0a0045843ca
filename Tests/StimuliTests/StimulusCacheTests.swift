import FlyvisHDF5
import FlyvisStimuli
import FlyvisTestSupport
import Foundation
import Testing

/// The stimulus cache: same arrays as a fresh rendering, reused, keyed, shared safely.
@Suite struct StimulusCacheTests {
    func temporaryRoot() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("stimulus-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The file's inode and modification time (nanoseconds).
    func inodeAndTime(_ path: String) -> [Int]? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return [Int(st.st_ino), st.st_mtim.tv_sec, st.st_mtim.tv_nsec]
    }

    func identical(_ a: [Float], _ b: [Float]) -> Bool { bitwiseEqual(a[...], b[...]) }

    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    }

    @Test("the cache returns a fresh rendering's arrays, coordinates and configuration")
    func cacheEqualsFreshRender() throws {
        let root = try temporaryRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        // Two angle-intensity sets at the default speeds (2.4 deg/s pads the others to 1078 frames).
        let set = try MovingEdge(angles: [30], intensities: [0, 1])
        let log = Log()
        var clock = ContinuousClock.now
        let cached = try StimulusCache(root: root).load(set, log: log.add)
        let cachedTime = ContinuousClock.now - clock
        #expect(log.all.count == 1 && log.all[0].hasPrefix("Rendered"))
        #expect(cached.sampleCount == 12 && cached.frameCount == 1078 && cached.lattice.count == 721)
        #expect(cached.time == set.time)
        #expect(cached.sampleParameters.map(\.name) == set.sampleParameters.map(\.name))
        #expect(cached.sampleParameters.map(\.values) == set.sampleParameters.map(\.values))
        #expect(cached.configuration.map(\.name) == set.configuration.map(\.name))
        #expect(cached.configuration.map(\.value) == set.configuration.map(\.value))
        var fresh: [[Float]] = []
        clock = .now
        for s in 0..<6 { fresh.append(try set.render(sample: s)) }  // one angle-intensity set, rendered per sample
        let freshTime = ContinuousClock.now - clock
        for s in 6..<12 { fresh.append(try set.render(sample: s)) }
        clock = .now
        for s in 0..<12 { #expect(identical(try cached.render(sample: s), fresh[s]), "sample \(s)") }
        let readTime = ContinuousClock.now - clock
        print(
            "moving edge, 2 angle-intensity sets: rendered and cached in \(cachedTime); "
                + "6 samples rendered one by one in \(freshTime); 12 samples read from the cache in \(readTime)")

        let flashes = try Flashes()
        let cachedFlashes = try StimulusCache(root: root).load(flashes)
        for s in 0..<flashes.sampleCount {
            #expect(identical(try cachedFlashes.render(sample: s), try flashes.render(sample: s)))
        }
    }

    @Test("a second load reuses the file; other rendering parameters get another file")
    func cacheIsReusedAndKeyed() throws {
        let root = try temporaryRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let cache = StimulusCache(root: root)
        let set = try MovingEdge(angles: [90], intensities: [1], speeds: [19, 25])
        let first = try cache.load(set)
        let written = try #require(inodeAndTime(first.file.path))
        let log = Log()
        let second = try cache.load(set, log: log.add)
        #expect(second.file == first.file)
        #expect(log.all.count == 1 && log.all[0].hasPrefix("Reusing"))
        #expect(inodeAndTime(second.file.path) == written)  // not rewritten

        // What the frames depend on changes the file; dt, speeds and durations do not (the
        // file holds the frames before resampling, as flyvis's RenderedOffsets does).
        let otherAngle = try cache.load(MovingEdge(angles: [60], intensities: [1], speeds: [19, 25]))
        let otherExtent = try cache.load(MovingEdge(angles: [90], intensities: [1], speeds: [19, 25], extent: 8))
        let otherHeight = try cache.load(MovingEdge(angles: [90], intensities: [1], speeds: [19, 25], height: 9))
        let flashes = try cache.load(Flashes())
        let files = Set([first.file, otherAngle.file, otherExtent.file, otherHeight.file, flashes.file])
        #expect(files.count == 5)
        let resampled = try MovingEdge(angles: [90], intensities: [1], speeds: [4.8], tPre: 0.5, dt: 1.0 / 100)
        let log2 = Log()
        let cachedResampled = try cache.load(resampled, log: log2.add)
        #expect(cachedResampled.file == first.file && log2.all[0].hasPrefix("Reusing"))
        #expect(identical(try cachedResampled.render(sample: 0), try resampled.render(sample: 0)))
    }

    @Test("processes loading one set at once render it once; a damaged file is rendered again")
    func cacheIsSharedSafely() throws {
        let root = try temporaryRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let set = try MovingEdge(angles: [45], intensities: [0], speeds: [25])
        let log = Log()
        let results = Log()
        // Separate opens of the lock file exclude each other like separate processes.
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                let cached = try StimulusCache(root: root).load(set, log: log.add)
                results.add(cached.file.path)
            } catch {
                results.add("error: \(error)")
            }
        }
        #expect(results.all.count == 4 && Set(results.all).count == 1 && !results.all[0].hasPrefix("error"))
        #expect(log.all.filter { $0.hasPrefix("Rendered") }.count == 1, "\(log.all)")
        let file = URL(fileURLWithPath: results.all[0])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: file.deletingLastPathComponent().path)
        #expect(leftovers == ["frames.h5"])

        try Data("not an HDF5 file".utf8).write(to: file)
        let again = Log()
        let cached = try StimulusCache(root: root).load(set, log: again.add)
        #expect(again.all.count == 1 && again.all[0].hasPrefix("Rendered"))
        #expect(identical(try cached.render(sample: 0), try set.render(sample: 0)))

        // A file damaged after loading is an error naming it, not a crash.
        try Data("not an HDF5 file".utf8).write(to: file)
        do {
            _ = try cached.render(sample: 0)
            Issue.record("reading a damaged cache file succeeded")
        } catch let error as StimulusError {
            #expect("\(error)".contains(file.path))
        }
    }
}
