import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisStimuli

/// Properties that hold without a reference: subsets, other extents, bad parameters.
@Suite struct StimulusPropertyTests {
    /// Sample `sample` of `set` as an array.
    func movie(_ set: some StimulusSet, _ sample: Int) throws -> [Float] { try set.render(sample: sample) }

    /// Index of the sample with these parameter values.
    func index(of values: [String: Double], in set: some StimulusSet) -> Int? {
        let columns = Dictionary(uniqueKeysWithValues: set.sampleParameters.map { ($0.name, $0.values) })
        return (0..<set.sampleCount).first { s in values.allSatisfy { columns[$0.key]?[s] == $0.value } }
    }

    /// Bitwise equality (NaN equal to NaN) of two non-empty arrays of one length.
    func identical(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Bool {
        bitwiseEqual(a, b)
    }

    @Test("a subset of a moving-edge set gives exactly the larger set's samples")
    func movingEdgeSubsetEqualsLargerSet() throws {
        let large = try MovingEdge(angles: [0, 30, 90, 225], intensities: [0, 1], speeds: [4.8, 13, 25])
        let small = try MovingEdge(angles: [225, 30], intensities: [1], speeds: [25, 13])
        #expect(small.sampleCount == 4)
        #expect(large.frameCount > small.frameCount)  // padded to 4.8's length instead of 13's
        let n = small.lattice.count
        for s in 0..<small.sampleCount {
            let p = Dictionary(uniqueKeysWithValues: small.sampleParameters.map { ($0.name, $0.values[s]) })
            let l = try #require(index(of: p, in: large))
            let a = try movie(small, s), b = try movie(large, l)
            #expect(identical(a[...], b[0..<a.count]), "sample \(p)")
            // Beyond the smaller set's length the larger one only pads with NaN.
            #expect(b[(small.frameCount * n)...].allSatisfy { $0.isNaN })
        }
    }

    @Test("a subset of flashes gives exactly the larger set's samples")
    func flashSubsetEqualsLargerSet() throws {
        let large = try Flashes(radius: [-1, 6, 3, 0])
        let small = try Flashes(radius: [3])
        for s in 0..<small.sampleCount {
            let p = Dictionary(uniqueKeysWithValues: small.sampleParameters.map { ($0.name, $0.values[s]) })
            let l = try #require(index(of: p, in: large))
            #expect(identical(try movie(small, s)[...], try movie(large, l)[...]), "sample \(p)")
        }
    }

    @Test("extent 8 is extent 15 on the shared hexals; extent 20 too, inside flyvis's monitor")
    func otherExtentsShareHexals() throws {
        let e15 = try MovingEdge(angles: [30, 90], intensities: [1], speeds: [25])
        for extent in [8, 20] {
            let other = try MovingEdge(angles: [30, 90], intensities: [1], speeds: [25], extent: extent)
            #expect(other.lattice.count == 3 * extent * (extent + 1) + 1)
            #expect(other.frameCount == e15.frameCount)
            // Every hexal of extent 8; up to distance 14 at extent 20 (flyvis's monitor clips
            // hexals at distance 15, which extent 20 sees whole).
            let shared = (0..<other.lattice.count).compactMap { h -> (Int, Int)? in
                let u = other.lattice.u[h], v = other.lattice.v[h]
                guard (abs(u) + abs(v) + abs(u + v)) / 2 <= min(extent, 14) else { return nil }
                return (h, e15.lattice.index(u: u, v: v)!)
            }
            #expect(shared.count == 3 * min(extent, 14) * (min(extent, 14) + 1) + 1)
            for s in 0..<other.sampleCount {
                let a = try movie(other, s), b = try movie(e15, s)
                let ours = (0..<other.frameCount).flatMap { f in shared.map { a[f * other.lattice.count + $0.0] } }
                let theirs = (0..<e15.frameCount).flatMap { f in shared.map { b[f * e15.lattice.count + $0.1] } }
                #expect(identical(ours[...], theirs[...]), "extent \(extent) sample \(s)")
            }
        }
        let flashes15 = try Flashes(), flashes8 = try Flashes(extent: 8)
        #expect(flashes8.lattice.count == 217)
        for s in 0..<flashes8.sampleCount {
            let a = try movie(flashes8, s), b = try movie(flashes15, s)
            let mapped = (0..<flashes8.frameCount).flatMap { f in
                (0..<217).map { h in b[f * 721 + flashes15.lattice.index(u: flashes8.lattice.u[h], v: flashes8.lattice.v[h])!] }
            }
            #expect(identical(a[...], mapped[...]))
        }
    }

    @Test("past flyvis's monitor (extent 20) the picture continues, never PIL's black fill")
    func edgeBeyondTheMonitorContinues() throws {
        // At the first offset the edge lies left of the centre: the bar (1) covers the left,
        // grey the right, so every hexal lies between grey and 1 — grey being 127/255 after
        // the 8-bit rotation at 45°. Black fill or unset pixels would fall below.
        let edge = try MovingEdge(angles: [0, 45], intensities: [1], speeds: [25], extent: 20)
        let n = edge.lattice.count
        for (sample, grey) in [(0, Float(0.5)), (1, Float(127.0 / 255))] {
            let frames = try edge.render(sample: sample)
            let firstOffset = frames[(200 * n)..<(201 * n)]  // after t_pre's 200 grey frames
            #expect(firstOffset.allSatisfy { $0 >= grey && $0 <= 1 }, "sample \(sample)")
            #expect(firstOffset.contains(1) && firstOffset.contains(grey))
            #expect(frames[0..<n].allSatisfy { $0 == 0.5 })
        }
    }

    @Test(
        "HexEye's fp16 masks match flyvis's, pixel for pixel",
        .enabled(if: FileManager.default.fileExists(atPath: Fixtures.stimuli.path)))
    func hexEyeMasksMatchFlyvis() throws {
        let f = try Fixtures.open(Fixtures.stimuli)
        let counts = try f.read("hex_eye/kernel_sum", as: Int64.self).values
        let pixels = try f.read("hex_eye/pixel", as: Int32.self).values
        let eye = HexEye(extent: 15)
        #expect(counts.count == eye.lattice.count)
        #expect(counts.map(Int.init) == (0..<eye.lattice.count).map { eye.pixelStart[$0 + 1] - eye.pixelStart[$0] })
        let ours = (0..<eye.pixelCount).map { Int32(eye.pixelRow[$0]) * Int32(HexEye.monitorSide) + eye.pixelColumn[$0] }
        #expect(ours == pixels)
    }

    @Test("flyvis's black fill outside the rotated picture never reaches a hexal up to extent 15")
    func rotationSourcesStayInsideThePaddedImage() {
        var renderer = BarRenderer(eye: HexEye.shared(extent: 15))
        for angle in stride(from: 0.0, through: 359, by: 1) {
            renderer.prepare(angle: angle)
            #expect(renderer.sourcesInsidePaddedImage(), "angle \(angle)")
        }
    }

    @Test("resampling repeats frames as torch's float32 linspace does")
    func resamplingIndices() {
        // Where the frame index steps up, from torch.linspace(0, n − 1, steps).long() in torch
        // 2.15 (n = 21 offsets at speeds 19 and 2.4, and 37 offsets at speed 25).
        func steps(_ n: Int, _ s: Int) -> [Int] {
            let i = Resampling.indices(count: n, steps: s)
            return (0..<(i.count - 1)).filter { i[$0 + 1] != i[$0] }
        }
        #expect(steps(21, 85) == [4, 8, 12, 16, 20, 25, 29, 33, 37, 41, 46, 50, 54, 58, 62, 67, 71, 75, 79, 83])
        #expect(
            steps(21, 678) == [
                33, 67, 101, 135, 169, 203, 236, 270, 304, 338, 372, 406, 440, 473, 507, 541,
                575, 609, 643, 676,
            ])
        #expect(
            steps(37, 65) == [
                1, 3, 5, 7, 8, 10, 12, 14, 15, 17, 19, 21, 23, 24, 26, 28, 30, 31, 33, 35, 37, 39,
                40, 42, 44, 46, 47, 49, 51, 53, 55, 56, 58, 60, 62, 63,
            ])
        #expect(Resampling.indices(count: 21, steps: 85).last == 20)
        #expect(Resampling.indices(count: 1, steps: 200).allSatisfy { $0 == 0 })
        #expect(Resampling.indices(count: 21, steps: 0).isEmpty)
    }

    @Test("offsets shuffle as numpy's RandomState permutes")
    func numpyPermutations() {
        // np.random.RandomState(0).permutation(10), then .permutation(7), from numpy 2.4.
        var random = NumpyRandomState(seed: 0)
        #expect(random.permutation(10) == [2, 8, 4, 9, 1, 6, 7, 3, 0, 5])
        #expect(random.permutation(7) == [3, 1, 2, 6, 5, 0, 4])
        #expect(random.permutation(1) == [0] && random.permutation(0).isEmpty)
    }

    @Test("bad parameters are typed errors naming the parameter")
    func badParametersAreErrors() {
        func name(_ body: () throws -> Void) -> String? {
            do { try body() } catch let error as StimulusError {
                if case let .invalidParameter(_, name, _) = error { return name }
            } catch {}
            return nil
        }
        #expect(name { _ = try MovingEdge(angles: []) } == "angles")
        #expect(name { _ = try MovingEdge(angles: [.nan]) } == "angles")
        #expect(name { _ = try MovingEdge(speeds: [19, 0]) } == "speeds")
        #expect(name { _ = try MovingEdge(speeds: [-1]) } == "speeds")
        #expect(name { _ = try MovingEdge(speeds: [.infinity]) } == "speeds")
        #expect(name { _ = try MovingEdge(intensities: []) } == "intensities")
        #expect(name { _ = try MovingEdge(intensities: [1.5]) } == "intensities")
        #expect(name { _ = try MovingEdge(offsets: 3..<3) } == "offsets")
        #expect(name { _ = try MovingEdge(height: 0) } == "height")
        #expect(name { _ = try MovingEdge(tPre: -1) } == "t_pre")
        #expect(name { _ = try MovingEdge(tPost: .nan) } == "t_post")
        #expect(name { _ = try MovingEdge(dt: 0) } == "dt")
        #expect(name { _ = try MovingEdge(dt: -0.005) } == "dt")
        #expect(name { _ = try MovingEdge(dt: .nan) } == "dt")
        #expect(name { _ = try MovingEdge(dt: 1e-12) } == "dt")
        #expect(name { _ = try MovingEdge(extent: -1) } == "extent")
        #expect(name { _ = try MovingEdge(postPadMode: .reflect, tPre: 0, tPost: 5) } == "t_post")
        #expect(name { _ = try MovingBar(widths: [0]) } == "widths")
        #expect(name { _ = try MovingBar(barLocHorizontal: .infinity) } == "bar_loc_horizontal")
        #expect(name { _ = try MovingBar(widths: [1e300]) } == "widths")
        #expect(name { _ = try Flashes(radius: []) } == "radius")
        #expect(name { _ = try Flashes(radius: [-2]) } == "radius")
        #expect(name { _ = try Flashes(dynamicRange: [0, 0.5, 1]) } == "dynamic_range")
        #expect(name { _ = try Flashes(dynamicRange: [0, .nan]) } == "dynamic_range")
        #expect(name { _ = try Flashes(tStim: -1) } == "t_stim")
        #expect(name { _ = try Flashes(alternations: [1, 0]) } == "alternations")
        #expect(name { _ = try Flashes(alternations: [0, 2]) } == "alternations")
        #expect(name { _ = try Flashes(dt: 0) } == "dt")
    }

    @Test("render checks the sample index and the buffer's size")
    func renderChecksItsArguments() throws {
        let set = try Flashes(radius: [6])
        var small = [Float](repeating: 0, count: 10)
        #expect(throws: StimulusError.bufferTooSmall(set: "flashes", needed: 600 * 721, given: 10)) {
            try small.withUnsafeMutableBufferPointer { try set.render(sample: 0, into: $0) }
        }
        #expect(throws: StimulusError.sampleOutOfRange(set: "flashes", sample: 2, count: 2)) { _ = try set.render(sample: 2) }
        #expect(throws: StimulusError.sampleOutOfRange(set: "flashes", sample: -1, count: 2)) { _ = try set.render(sample: -1) }
    }
}
