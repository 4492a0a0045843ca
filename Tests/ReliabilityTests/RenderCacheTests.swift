import FlyvisConfig
import FlyvisData
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisSolver

/// The render cache is keyed by what the input files are, not their path.
@Suite(.serialized) struct RenderCacheTests {
    /// A Sintel-layout folder with one scene of 4 frames whose flow is `u` everywhere.
    func makeSintel(_ root: URL, u: Float) throws {
        let (h, w) = (120, 140)
        let frames = (1...4).map { k in (0..<(h * w)).map { UInt8(truncatingIfNeeded: ($0 % w) * 3 + k * 10) } }
        let flow = (1...3).map { _ in (u: [Float](repeating: u, count: h * w), v: [Float](repeating: 0.5, count: h * w)) }
        try MockSintel.writeScene("alley_1", at: root, frames: frames, flow: flow, height: h, width: w)
    }

    func writeFlow(_ url: URL, u: Float, h: Int, w: Int) throws {
        try FloFile.write(url.path, u: [Float](repeating: u, count: h * w), v: [Float](repeating: 0.5, count: h * w), height: h, width: w)
    }

    func config(_ sintel: URL) throws -> Config {
        try Config.load(overrides: [
            "task_name=flow", "ensemble_and_network_id=0009/000", "network.connectome.extent=4",
            "task.dataset.boxfilter.extent=4", "task.dataset.n_frames=3", "task.dataset.vertical_splits=1",
            "task.dataset.sintel_path=\(sintel.path)",
        ])
    }

    @Test func replacingAnInputFileInPlaceRendersAgain() throws {
        let top = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: top) }
        let sintel = top.appendingPathComponent("Sintel"), root = top.appendingPathComponent("root")
        try makeSintel(sintel, u: 1)
        let c = try config(sintel)
        var messages: [String] = []
        let first = try Build.sequences(c, root: root, log: { messages.append($0) })
        #expect(messages.contains { $0.hasPrefix("Rendering Sintel") }, "\(messages)")

        messages = []
        let again = try Build.sequences(c, root: root, log: { messages.append($0) })
        #expect(again == first)
        #expect(messages.contains { $0.contains("Reusing the cached rendering") && $0.contains("input files unchanged") }, "\(messages)")
        #expect(!messages.contains { $0.hasPrefix("Rendering Sintel") })

        // Replace one .flo in place (same path, same size), as after fixing a broken copy.
        let flo = sintel.appendingPathComponent("training/flow/alley_1/frame_0002.flo")
        let size = try FileManager.default.attributesOfItem(atPath: flo.path)[.size] as! Int
        try writeFlow(flo, u: -2, h: 120, w: 140)
        #expect(try FileManager.default.attributesOfItem(atPath: flo.path)[.size] as! Int == size)
        messages = []
        let replaced = try Build.sequences(c, root: root, log: { messages.append($0) })
        #expect(messages.contains { $0.contains("input files changed") }, "\(messages)")
        #expect(messages.contains { $0.hasPrefix("Rendering Sintel") }, "\(messages)")
        // What is used is a rendering of the new files, not the cached one of the old.
        var render = RenderConfig()
        render.extent = 4
        render.nFrames = 3
        render.verticalSplits = 1
        let fresh = try SintelFolder(root: sintel).render(render)
        #expect(replaced.map(\.flow) == fresh.map(\.flow))
        #expect(replaced.map(\.flow) != first.map(\.flow))
        // And the new rendering is what the cache now holds.
        messages = []
        #expect(try Build.sequences(c, root: root, log: { messages.append($0) }) == replaced)
        #expect(messages.contains { $0.contains("Reusing the cached rendering") })
    }

    @Test func nonFiniteFlowIsNamedWhenRendered() throws {
        let top = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: top) }
        let sintel = top.appendingPathComponent("Sintel")
        try makeSintel(sintel, u: 1)
        let flo = sintel.appendingPathComponent("training/flow/alley_1/frame_0003.flo")
        try writeFlow(flo, u: .nan, h: 120, w: 140)
        do {
            _ = try Build.sequences(try config(sintel), root: top.appendingPathComponent("root"), log: { _ in })
            Issue.record("a NaN flow file must be refused")
        } catch {
            #expect("\(error)".contains("'\(flo.path)'") && "\(error)".contains("non-finite"), "\(error)")
        }
    }
}
