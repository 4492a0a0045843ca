import FlyvisRandom
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisData

@Suite struct SplitAndLoaderTests {
    static let sintelScenes = [
        "alley_1", "alley_2", "ambush_2", "ambush_4", "ambush_5", "ambush_6", "ambush_7", "bamboo_1",
        "bamboo_2", "bandage_1", "bandage_2", "cave_2", "cave_4", "market_2", "market_5", "market_6",
        "mountain_1", "shaman_2", "shaman_3", "sleeping_1", "sleeping_2", "temple_2", "temple_3",
    ]

    @Test func originalSplitOfTheFullSintelSet() {
        let names = Self.sintelScenes.enumerated().flatMap { i, s in (0..<3).map { String(format: "sequence_%02d_%@_split_%02d", i, s, $0) }
        }
        let (train, val) = DataSplit.original(names: names)
        #expect(train.count == 51 && val.count == 16)
        #expect(val == [6, 7, 8, 21, 22, 23, 27, 28, 29, 36, 39, 40, 41, 48, 49, 50])
        #expect(Set(train).isDisjoint(with: val))
    }

    @Test func crossValidationFolds() throws {
        let (train, val) = try DataSplit.crossValidation(count: 69, folds: 4, fold: 1, seed: 0)
        #expect(val == Array(18..<35) && train.count == 52)
        let shuffled = try DataSplit.crossValidation(count: 69, folds: 4, fold: 1, seed: 3)
        #expect(Set(shuffled.train + shuffled.validation) == Set(0..<69) && shuffled.validation.count == 17)
        #expect(throws: DataError.self) { _ = try DataSplit.crossValidation(count: 10, folds: 4, fold: 4, seed: 0) }
    }

    @Test func loadersShuffleReproduciblyAndDropLast() {
        let loader = Loader(indices: Array(0..<51), batchSize: 4, shuffle: true, dropLast: true)
        #expect(loader.count == 12)
        var a = RandomState(seed: 9), b = RandomState(seed: 9)
        let e1 = loader.epoch(&a), e2 = loader.epoch(&b)
        #expect(e1 == e2 && e1.count == 12 && e1.allSatisfy { $0.count == 4 })
        let saved = a.state
        let next = loader.epoch(&a)
        var restored = RandomState(state: saved)
        #expect(loader.epoch(&restored) == next, "restoring the generator state continues the sequence")
        #expect(next != e1)
        #expect(Loader(indices: [5, 6, 7], batchSize: 1).epoch(&a) == [[5], [6], [7]])
    }
}

@Suite struct SintelErrorTests {
    func folder() throws -> URL {
        let root = try temporaryDirectory("broken-sintel")
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("training/final/alley_1"), withIntermediateDirectories: true)
        return root
    }

    @Test func missingFlowFolderIsNamed() throws {
        let root = try folder()
        defer { try? FileManager.default.removeItem(at: root) }
        do {
            _ = try SintelFolder(root: root).render(RenderConfig())
            Issue.record("must fail")
        } catch {
            #expect(error.description.contains("training/flow"))
        }
    }

    @Test func badMagicAndFrameCountMismatch() throws {
        let root = try folder()
        defer { try? FileManager.default.removeItem(at: root) }
        let flow = root.appendingPathComponent("training/flow/alley_1")
        try FileManager.default.createDirectory(at: flow, withIntermediateDirectories: true)
        for k in 1...4 {
            try PNGFile.writeGray(
                root.appendingPathComponent(String(format: "training/final/alley_1/frame_%04d.png", k)).path,
                pixels: [UInt8](repeating: 100, count: 400 * 420), height: 400, width: 420)
        }
        var config = RenderConfig()
        config.nFrames = 3
        for k in 1...2 {
            try FloFile.write(
                flow.appendingPathComponent(String(format: "frame_%04d.flo", k)).path,
                u: [0], v: [0], height: 1, width: 1)
        }
        #expect(throws: DataError.frameCountMismatch(scene: "alley_1", frames: 4, flows: 2)) {
            _ = try SintelFolder(root: root).render(config)
        }
        let bad = flow.appendingPathComponent("frame_0003.flo").path
        try Data([UInt8](repeating: 7, count: 64)).write(to: URL(fileURLWithPath: bad))
        do {
            _ = try SintelFolder(root: root).render(config)
            Issue.record("must fail")
        } catch {
            #expect(error.description.contains("frame_0001.flo") || error.description.contains("frame_0003.flo"))
        }
        #expect(throws: DataError.self) { _ = try FloFile.read(bad) }
        #expect(throws: DataError.self) { _ = try PNGFile.readLuminance(bad) }
    }
}

@Suite struct BuiltinFlowTests {
    /// Warping frame k+1 back by the ground-truth flow reproduces frame k far better than not
    /// warping: the flow really is the motion that moved the frames.
    @Test func groundTruthFlowExplainsTheMotion() {
        var config = BuiltinFlowConfig()
        config.height = 120
        config.width = 200
        config.framesPerScene = 4
        for sceneIndex in 0..<2 {
            let s = BuiltinFlow.scene(sceneIndex, config: config)
            for k in 0..<(s.frames.count - 1) {
                var warped = 0.0, still = 0.0, n = 0
                for y in 2..<(s.height - 2) {
                    for x in 2..<(s.width - 2) {
                        let i = y * s.width + x
                        let tx = Double(x) + Double(s.flowU[k][i]), ty = Double(y) + Double(s.flowV[k][i])
                        guard tx >= 0, ty >= 0, tx < Double(s.width - 1), ty < Double(s.height - 1) else { continue }
                        let x0 = Int(tx), y0 = Int(ty), ax = Float(tx - Double(x0)), ay = Float(ty - Double(y0))
                        let f = s.frames[k + 1]
                        let w =
                            (f[y0 * s.width + x0] * (1 - ax) + f[y0 * s.width + x0 + 1] * ax) * (1 - ay)
                            + (f[(y0 + 1) * s.width + x0] * (1 - ax) + f[(y0 + 1) * s.width + x0 + 1] * ax) * ay
                        warped += Double(abs(w - s.frames[k][i]))
                        still += Double(abs(f[i] - s.frames[k][i]))
                        n += 1
                    }
                }
                #expect(
                    warped / Double(n) < 0.5 * still / Double(n),
                    "scene \(sceneIndex) frame \(k): warped \(warped / Double(n)) vs still \(still / Double(n))")
            }
        }
    }

    @Test func deterministicAndSplitByName() {
        var config = BuiltinFlowConfig()
        config.scenes = 4
        config.framesPerScene = 3
        config.height = 436
        config.width = 420
        var render = RenderConfig()
        render.nFrames = 2
        render.verticalSplits = 1
        let a = BuiltinFlow.render(config: config, render: render)
        let b = BuiltinFlow.render(config: config, render: render)
        #expect(a == b)
        let (train, val) = DataSplit.original(names: a.map(\.name))
        #expect(train.count == 3 && val.count == 1)
    }
}

/// Headers that claim absurd sizes (a hostile `.flo` with width = height = 2,000,000,000) are
/// errors naming the file, never an arithmetic-overflow trap.
@Suite struct HostileHeaderTests {
    func file(_ bytes: [UInt8]) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString)")
        try Data(bytes).write(to: url)
        return url.path
    }

    func header(_ tag: Float, _ w: Int32, _ h: Int32) -> [UInt8] {
        withUnsafeBytes(of: tag) { Array($0) } + withUnsafeBytes(of: w) { Array($0) } + withUnsafeBytes(of: h) { Array($0) }
    }

    @Test func absurdSizesAreErrors() throws {
        for (w, h) in [(Int32(2_000_000_000), Int32(2_000_000_000)), (Int32.max, 2), (-1, 5), (3, 4)] {
            let flo = try file(header(FloFile.magic, w, h) + [UInt8](repeating: 0, count: 64))
            defer { try? FileManager.default.removeItem(atPath: flo) }
            #expect(throws: DataError.self, "\(w)×\(h) .flo") { _ = try FloFile.read(flo) }
            let dpt = try file(header(202021.25, w, h) + [UInt8](repeating: 0, count: 16))
            defer { try? FileManager.default.removeItem(atPath: dpt) }
            #expect(throws: DataError.self, "\(w)×\(h) .dpt") { _ = try DepthFile.read(dpt) }
        }
        // The same header with exactly enough payload reads.
        let ok = try file(header(FloFile.magic, 3, 4) + [UInt8](repeating: 0, count: 3 * 4 * 8))
        defer { try? FileManager.default.removeItem(atPath: ok) }
        #expect(try FloFile.read(ok).width == 3)
    }
}
