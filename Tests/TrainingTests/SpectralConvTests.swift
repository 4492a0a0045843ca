import FlyvisHex
import FlyvisRandom
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisTask

/// The FFT convolution (SpectralConv) against plain loops in double, and the lane FFT against
/// a plain DFT. The FFT rounds differently from a direct sum, so these compare to a tolerance
/// relative to the largest reference value: 1e-5, against float32 rounding of ~1e-6 seen here.
@Suite struct SpectralConvTests {
    let plain = DirectConvTests()

    @Test(arguments: [2, 6, 8, 12, 18, 36, 48, 54])
    func laneFFTMatchesPlainDFT(size: Int) {
        let fft = LaneFFT(size: size)
        var rng = RandomState(seed: UInt64(size))
        typealias V = SIMD8<Float>
        let re = UnsafeMutablePointer<V>.allocate(capacity: 8 * size)
        defer { re.deallocate() }
        let im = re + size, zr = re + 2 * size, zi = re + 3 * size, buffers = re + 4 * size
        var inRe = [[Double]](repeating: [], count: 8), inIm = inRe
        for j in 0..<size {
            var a = V(), b = V()
            for l in 0..<8 { a[l] = Float(rng.uniform() * 2 - 1); b[l] = Float(rng.uniform() * 2 - 1) }
            re[j] = a; im[j] = b
            for l in 0..<8 { inRe[l].append(Double(a[l])); inIm[l].append(Double(b[l])) }
        }
        fft.table.withUnsafeBufferPointer {
            fft.transform(re, im, inStride: 32, zr, zi, outStride: 32, buffers: buffers, table: $0.baseAddress!)
        }
        var worst = 0.0
        for l in 0..<8 {
            for k in 0..<size {
                var sr = 0.0, si = 0.0
                for j in 0..<size {
                    let a = -2 * Double.pi * Double(j * k) / Double(size)
                    sr += inRe[l][j] * cos(a) - inIm[l][j] * sin(a)
                    si += inRe[l][j] * sin(a) + inIm[l][j] * cos(a)
                }
                worst = max(worst, abs(Double(zr[k][l]) - sr), abs(Double(zi[k][l]) - si))
            }
        }
        #expect(worst <= 1e-5 * Double(size), "size \(size): max error \(worst)")
    }

    /// The unrolled paths for the default map's lengths do the stage loops' operations in
    /// their order: bit for bit the same, also with the interleaved strides the 2-D passes use.
    @Test(arguments: LaneFFT.unrolled.keys.sorted())
    func unrolledEqualsStageLoops(size: Int) {
        let fft = LaneFFT(size: size)
        var rng = RandomState(seed: UInt64(size))
        typealias V = SIMD8<Float>
        // Input and outputs interleaved (re, im, re, im, ...): strides of 64 bytes.
        let x = UnsafeMutablePointer<V>.allocate(capacity: 2 * size), y = UnsafeMutablePointer<V>.allocate(capacity: 2 * size)
        let z = UnsafeMutablePointer<V>.allocate(capacity: 2 * size), buffers = UnsafeMutablePointer<V>.allocate(capacity: 4 * size)
        defer { for p in [x, y, z, buffers] { p.deallocate() } }
        for j in 0..<(2 * size) {
            var a = V()
            for l in 0..<8 { a[l] = Float(rng.uniform() * 2 - 1) }
            x[j] = a
        }
        fft.table.withUnsafeBufferPointer { tb in
            let t = tb.baseAddress!, xr = UnsafeRawPointer(x), yr = UnsafeMutableRawPointer(y), zr = UnsafeMutableRawPointer(z)
            fft.transform(xr, xr + 32, inStride: 64, yr, yr + 32, outStride: 64, buffers: buffers, table: t)
            fft.transformStages(xr, xr + 32, inStride: 64, zr, zr + 32, outStride: 64, buffers: buffers, table: t)
        }
        var same = true
        for j in 0..<(2 * size) { for l in 0..<8 where y[j][l].bitPattern != z[j][l].bitPattern { same = false } }
        #expect(same, "the unrolled \(size)-point transform differs from the stage loops")
    }

    @Test func transformLengths() {
        #expect(LaneFFT.length(atLeast: 35) == 36)
        #expect(LaneFFT.length(atLeast: 19) == 24)
        #expect(LaneFFT.length(atLeast: 7) == 8)
        #expect(LaneFFT.length(atLeast: 1) == 2)
    }

    func relative(_ ours: [Float], _ ref: [Double]) -> Double {
        guard ours.count == ref.count, !ref.isEmpty else { return .infinity }
        let scale = max(ref.map(abs).max()!, 1e-30)
        // A NaN (a value never written) counts as an infinite error.
        return zip(ours, ref).map { abs(Double($0) - $1) }.map { $0.isNaN ? .infinity : $0 }.max()! / scale
    }

    struct Run { var out: [Float], dIn: [Float], dW: [Float] }

    /// Forward and backward through the grid's tables: the input x and dOut g are
    /// (channel, image, pixel) maps; `pixel` maps the grid's input indices to map pixels (the
    /// identity for the square, the hexals' pixels for the hexagon). dIn is written at the
    /// input's pixels only (NaN elsewhere).
    func run(
        _ conv: SpectralConv, _ x: [Float], _ g: [Float], _ w: [Float], _ b: [Float], images N: Int, pixel: [Int]? = nil
    ) -> Run {
        let P = conv.pixels, I = conv.inChannels, O = conv.outChannels, count = conv.grid.input.count
        let pixel = pixel ?? Array(0..<P)
        let scratch = SpectralConv.Scratch()
        var spectra = [Float](repeating: .nan, count: conv.spectrumCount(images: N, channels: I))
        var dSpectra = [Float](repeating: .nan, count: conv.spectrumCount(images: N, channels: O))
        var out = [Float](repeating: .nan, count: O * N * P)
        spectra.withUnsafeMutableBufferPointer { sb in
            out.withUnsafeMutableBufferPointer { ob in
                conv.forward(
                    stage: { grp, staged in
                        // Images 8·grp ..< 8·grp + 8 per (channel, input index), zeros past the last image.
                        for c in 0..<I {
                            for i in 0..<count {
                                var v = SIMD8<Float>()
                                for l in 0..<8 where grp * 8 + l < N { v[l] = x[c * N * P + (grp * 8 + l) * P + pixel[i]] }
                                staged[c * count + i] = v
                            }
                        }
                    }, images: N, weights: w, bias: b, spectra: sb.baseAddress!, out: ob.baseAddress!, scratch: scratch)
            }
        }
        var dIn = [Float](repeating: .nan, count: I * N * P)
        let dW = g.withUnsafeBufferPointer { gb in
            spectra.withUnsafeBufferPointer { sb in
                dSpectra.withUnsafeMutableBufferPointer { db in
                    conv.backward(
                        gb.baseAddress!, images: N, spectra: sb.baseAddress!, gradientSpectra: db.baseAddress!,
                        scratch: scratch
                    ) { grp, staged in
                        for c in 0..<I {
                            for i in 0..<count {
                                for l in 0..<min(8, N - grp * 8) {
                                    dIn[c * N * P + (grp * 8 + l) * P + pixel[i]] = staged[c * count + i][l]
                                }
                            }
                        }
                    }
                }
            }
        }
        return Run(out: out, dIn: dIn, dW: dW)
    }

    /// dIn(i, q) = Σ_{o,t} w(o, i, t)·dOut(o, q − t) in double, dOut zero off the map.
    func plainInputGradient(
        _ g: [Float], _ w: [Float], inC: Int, outC: Int, images N: Int, side: Int, taps tp: [(dy: Int, dx: Int)]
    ) -> [Double] {
        let P = side * side, T = tp.count
        var refIn = [Double](repeating: 0, count: inC * N * P)
        for i in 0..<inC {
            for n in 0..<N {
                for y in 0..<side {
                    for xx in 0..<side {
                        var s = 0.0
                        for o in 0..<outC {
                            for (t, d) in tp.enumerated() {
                                let yy = y - d.dy, xs = xx - d.dx
                                guard yy >= 0, yy < side, xs >= 0, xs < side else { continue }
                                s += Double(w[o * inC * T + i * T + t]) * Double(g[o * N * P + n * P + yy * side + xs])
                            }
                        }
                        refIn[i * N * P + n * P + y * side + xx] = s
                    }
                }
            }
        }
        return refIn
    }

    /// Forward, input gradient and weight gradient against plain loops in double; 1 and 2
    /// threads bit for bit. Image counts that leave a partial group of lanes, channel counts
    /// that leave partial register blocks, and transform lengths with radix 4, 3 and 2.
    @Test(arguments: [(31, 5, 11), (9, 3, 8), (7, 1, 3), (13, 7, 9), (5, 3, 17)])
    func matchesPlainLoops(side: Int, kernel: Int, images N: Int) {
        let inC = 6, outC = 5, P = side * side
        let tp = plain.taps(kernel), T = tp.count
        var rng = RandomState(seed: UInt64(side * 1000 + kernel * 10 + N))
        let x = (0..<(inC * N * P)).map { _ in Float(rng.uniform() * 2 - 1) }
        let g = (0..<(outC * N * P)).map { _ in Float(rng.uniform() * 2 - 1) }
        let w = (0..<(outC * inC * T)).map { _ in Float(rng.uniform() * 2 - 1) }
        let b = (0..<outC).map { _ in Float(rng.uniform()) }
        let one = SpectralConv(inChannels: inC, outChannels: outC, taps: tp, side: side, pad: kernel / 2, threads: 1)
        #expect(one.width >= side + 2 * (kernel / 2) && one.height == one.width)
        let r1 = run(one, x, g, w, b, images: N)

        let refOut = plain.plainForward(x, w, b, inC: inC, outC: outC, images: N, side: side, taps: tp)
        let refW = plain.plainWeights(x, g, inC: inC, outC: outC, images: N, side: side, taps: tp)
        let refIn = plainInputGradient(g, w, inC: inC, outC: outC, images: N, side: side, taps: tp)
        let eOut = relative(r1.out, refOut), eIn = relative(r1.dIn, refIn), eW = relative(r1.dW, refW)
        #expect(eOut <= 1e-5, "forward: \(eOut)")
        #expect(eIn <= 1e-5, "input gradient: \(eIn)")
        #expect(eW <= 1e-5, "weight gradient: \(eW)")

        var two = one
        two.threads = 2
        let r2 = run(two, x, g, w, b, images: N)
        #expect(r2.out.map(\.bitPattern) == r1.out.map(\.bitPattern))
        #expect(r2.dIn.map(\.bitPattern) == r1.dIn.map(\.bitPattern))
        #expect(r2.dW.map(\.bitPattern) == r1.dW.map(\.bitPattern))
    }

    /// The hexagon's periodic grid against the same plain loops on the square map, for inputs
    /// that are zero off the hexagon and dOut on the whole map: the forward on every pixel
    /// (the bias-only ones exactly the bias), the input gradient at the hexals, the weight
    /// gradient; 1 and 2 threads bit for bit. Extents and kernels give grids of 18 × 54 (the
    /// reference), 6 × 18, 4 × 12, 8 × 24 (radix 2) and 12 × 36, kernel 1 included.
    @Test(arguments: [(15, 5, 11), (4, 3, 8), (3, 1, 3), (5, 5, 9), (8, 3, 17)])
    func hexagonMatchesPlainLoops(extent: Int, kernel: Int, images N: Int) {
        let lattice = HexLattice(extent: extent), side = lattice.side, P = side * side, hexPixels = lattice.cartesianPixel
        let inC = 6, outC = 5, tp = plain.taps(kernel), T = tp.count
        var rng = RandomState(seed: UInt64(extent * 1000 + kernel * 10 + N))
        var x = [Float](repeating: 0, count: inC * N * P)
        for plane in 0..<(inC * N) { for q in hexPixels { x[plane * P + q] = Float(rng.uniform() * 2 - 1) } }
        let g = (0..<(outC * N * P)).map { _ in Float(rng.uniform() * 2 - 1) }
        let w = (0..<(outC * inC * T)).map { _ in Float(rng.uniform() * 2 - 1) }
        let b = (0..<outC).map { _ in Float(rng.uniform()) }
        let grid = SpectralGrid.hexagon(lattice, taps: tp), r = kernel / 2
        #expect(grid.height >= extent + r + 1 && grid.width == 3 * grid.height)
        #expect(grid.input.count == lattice.count && grid.output.count + grid.biasOnly.count == P)
        let one = SpectralConv(inChannels: inC, outChannels: outC, taps: tp, grid: grid, threads: 1)
        let r1 = run(one, x, g, w, b, images: N, pixel: hexPixels)

        let refOut = plain.plainForward(x, w, b, inC: inC, outC: outC, images: N, side: side, taps: tp)
        let refW = plain.plainWeights(x, g, inC: inC, outC: outC, images: N, side: side, taps: tp)
        let refIn = plainInputGradient(g, w, inC: inC, outC: outC, images: N, side: side, taps: tp)
        let planes = 0..<(inC * N)
        let dIn = planes.flatMap { plane in hexPixels.map { r1.dIn[plane * P + $0] } }
        let dInRef = planes.flatMap { plane in hexPixels.map { refIn[plane * P + $0] } }
        let eOut = relative(r1.out, refOut), eIn = relative(dIn, dInRef), eW = relative(r1.dW, refW)
        #expect(eOut <= 1e-5, "forward: \(eOut)")
        #expect(eIn <= 1e-5, "input gradient at the hexals: \(eIn)")
        #expect(eW <= 1e-5, "weight gradient: \(eW)")
        var biasExact = true
        for o in 0..<outC { for n in 0..<N { for q in grid.biasOnly where r1.out[(o * N + n) * P + q] != b[o] { biasExact = false } } }
        #expect(biasExact, "pixels out of the taps' reach hold exactly the bias")

        var two = one
        two.threads = 2
        let r2 = run(two, x, g, w, b, images: N, pixel: hexPixels)
        #expect(r2.out.map(\.bitPattern) == r1.out.map(\.bitPattern))
        #expect(dIn.map(\.bitPattern) == planes.flatMap { plane in hexPixels.map { r2.dIn[plane * P + $0].bitPattern } })
        #expect(r2.dW.map(\.bitPattern) == r1.dW.map(\.bitPattern))
    }
}
