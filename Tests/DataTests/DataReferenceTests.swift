import FlyvisHDF5
import FlyvisHex
import FlyvisRandom
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisData

/// The data golden file from flyvis 1.2.0 (Tests/Fixtures), or FLYVIS_DATA_REFERENCE.
enum DataReference {
    static var path: String { Fixtures.data.path }
    static func open() throws -> HDF5File { try Fixtures.open(Fixtures.data) }

    /// A real Sintel-layout folder (PNG and .flo files) recreated from the file's input arrays,
    /// built once per test run.
    static let mockSintel = Result<URL, Error> {
        let ref = try open()
        let root = try temporaryDirectory("mock-sintel")
        for scene in try ref.children("input") {
            let frames: HDF5Array<UInt8> = try ref.read("input/\(scene)/final_gray_u8")
            let (n, h, w) = (frames.shape[0], frames.shape[1], frames.shape[2])
            let images = (0..<n).map { k in Array(frames.values[(k * h * w)..<((k + 1) * h * w)]) }
            let flo: HDF5Array<Float> = try ref.read("input/\(scene)/flow_px")
            let flow = (0..<flo.shape[0]).map { k in
                let block = flo.values[(k * h * w * 2)..<((k + 1) * h * w * 2)]
                return (
                    u: stride(from: block.startIndex, to: block.endIndex, by: 2).map { block[$0] },
                    v: stride(from: block.startIndex + 1, to: block.endIndex, by: 2).map { block[$0] }
                )
            }
            try MockSintel.writeScene(scene, at: root, frames: images, flow: flow, height: h, width: w)
        }
        return root
    }

    static let rendered = Result<[RenderedSequence], Error> {
        try SintelFolder(root: mockSintel.get()).render(RenderConfig())
    }
}

/// README tolerances: 1e-5 absolute for lum, 1e-4 relative to max |flow| for flow.
func expectLum(_ ours: [Float], _ ref: [Float], _ what: String) {
    #expect(ours.count == ref.count, "\(what): size")
    #expect(maxAbsDiff(ours, ref) <= 1e-5, "\(what): lum error \(maxAbsDiff(ours, ref))")
}
func expectFlow(_ ours: [Float], _ ref: [Float], _ what: String) {
    let scale = max(ref.map { abs($0) }.max() ?? 1, 1e-12)
    #expect(ours.count == ref.count, "\(what): size")
    #expect(maxAbsDiff(ours, ref) <= 1e-4 * scale, "\(what): flow error \(maxAbsDiff(ours, ref)) (scale \(scale))")
}

@Suite(.serialized) struct DataReferenceTests {
    @Test func boxEyeMeanSumAndCenters() throws {
        let ref = try DataReference.open()
        let eye = BoxEye()
        let centers: HDF5Array<Int64> = try ref.read("boxeye/receptor_centers")
        #expect(eye.centers.flatMap { [Int64($0.y), Int64($0.x)] } == centers.values)
        let input: HDF5Array<Float> = try ref.read("boxeye/input")
        let (frames, h, w) = (input.shape[1], input.shape[2], input.shape[3])
        let mean: [Float] = try ref.read("boxeye/mean").values
        let sum: [Float] = try ref.read("boxeye/sum").values
        var ourMean: [Float] = [], ourSum: [Float] = []
        for f in 0..<frames {
            let frame = Array(input.values[(f * h * w)..<((f + 1) * h * w)])
            ourMean += eye.render(frame, height: h, width: w, filter: .mean)
            ourSum += eye.render(frame, height: h, width: w, filter: .sum)
        }
        expectLum(ourMean, mean, "boxeye mean (resized from \(h)×\(w))")
        expectFlow(ourSum, sum, "boxeye sum")
    }

    @Test func renderedCacheMatches() throws {
        let ref = try DataReference.open()
        let ours = try DataReference.rendered.get()
        let names = try ref.children("rendered")
        #expect(ours.count == names.count)
        for (k, name) in names.enumerated() {
            expectLum(ours[k].lum, try ref.read("rendered/\(name)/lum").values, "rendered \(name) lum")
            expectFlow(ours[k].flow!, try ref.read("rendered/\(name)/flow").values, "rendered \(name) flow")
        }
    }

    @Test func unaugmentedSamples() throws {
        let ref = try DataReference.open()
        let dataset = try MultiTaskDataset(sequences: try DataReference.rendered.get(), config: DatasetConfig(), extent: 15)
        var rng = RandomState(seed: 0)
        for name in try ref.children("unaugmented") {
            let s = dataset.sample(Int(name)!, augment: false, rng: &rng)
            expectLum(s.lum, try ref.read("unaugmented/\(name)/lum").values, "unaugmented \(name) lum")
            expectFlow(s.targets["flow"]!, try ref.read("unaugmented/\(name)/flow").values, "unaugmented \(name) flow")
        }
    }

    @Test func augmentedCases() throws {
        let ref = try DataReference.open()
        let dataset = try MultiTaskDataset(sequences: try DataReference.rendered.get(), config: DatasetConfig(), extent: 15)
        var rng = RandomState(seed: 0)
        for case_ in try ref.children("augmented") {
            let g = "augmented/\(case_)"
            let flip = Int(try ref.attribute("flip_axis", on: g, as: Int64.self))
            let nRot = Int(try ref.attribute("n_rot", on: g, as: Int64.self))
            // flip_axis is the axis flyvis applied (0 = no flip), used as it is.
            let p = AugmentationParameters(
                nRot: nRot,
                flipAxis: flip,
                contrastFactor: Float(try ref.attribute("contrast_factor", on: g, as: Double.self)),
                brightnessFactor: Float(try ref.attribute("brightness_factor", on: g, as: Double.self)),
                noiseStd: 0, start: 0)
            let s = dataset.sample(Int(try ref.attribute("sequence", on: g, as: Int64.self)), parameters: p, rng: &rng)
            expectLum(s.lum, try ref.read("\(g)/lum").values, "\(case_) lum")
            expectFlow(s.targets["flow"]!, try ref.read("\(g)/flow").values, "\(case_) flow")
        }
    }
}
