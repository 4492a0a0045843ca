import FlyvisRandom
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisTask

/// The direct convolution kernels against a plain loop in double precision, over map sizes and
/// kernel sizes where the last 8-wide chunk overhangs the map edge by different amounts.
@Suite struct DirectConvTests {
    func taps(_ kernel: Int) -> [(dy: Int, dx: Int)] {
        let r = kernel / 2
        var t: [(dy: Int, dx: Int)] = []
        for u in -r...r { for v in -r...r where kernel == 1 || abs(u + v) <= r { t.append((u, v)) } }
        return t
    }

    /// The forward in double by plain loops, zeros outside the map: (out, images, pixels).
    func plainForward(
        _ x: [Float], _ w: [Float], _ b: [Float], inC: Int, outC: Int, images N: Int, side: Int,
        taps tp: [(dy: Int, dx: Int)]
    ) -> [Double] {
        let P = side * side, T = tp.count
        var out = [Double](repeating: 0, count: outC * N * P)
        for o in 0..<outC {
            for n in 0..<N {
                for y in 0..<side {
                    for xx in 0..<side {
                        var s = Double(b[o])
                        for i in 0..<inC {
                            for (t, d) in tp.enumerated() {
                                let yy = y + d.dy, xs = xx + d.dx
                                guard yy >= 0, yy < side, xs >= 0, xs < side else { continue }
                                s += Double(w[o * inC * T + i * T + t]) * Double(x[i * N * P + n * P + yy * side + xs])
                            }
                        }
                        out[o * N * P + n * P + y * side + xx] = s
                    }
                }
            }
        }
        return out
    }

    /// The weight gradient in double by plain loops: Σ dOut(o, pixel) · x(i, pixel + tap).
    func plainWeights(
        _ x: [Float], _ g: [Float], inC: Int, outC: Int, images N: Int, side: Int,
        taps tp: [(dy: Int, dx: Int)]
    ) -> [Double] {
        let P = side * side, T = tp.count
        var dW = [Double](repeating: 0, count: outC * inC * T)
        for o in 0..<outC {
            for n in 0..<N {
                for y in 0..<side {
                    for xx in 0..<side {
                        let go = Double(g[o * N * P + n * P + y * side + xx])
                        for i in 0..<inC {
                            for (t, d) in tp.enumerated() {
                                let yy = y + d.dy, xs = xx + d.dx
                                guard yy >= 0, yy < side, xs >= 0, xs < side else { continue }
                                dW[o * inC * T + i * T + t] += go * Double(x[i * N * P + n * P + yy * side + xs])
                            }
                        }
                    }
                }
            }
        }
        return dW
    }

    @Test(arguments: [(3, 1), (5, 3), (7, 5), (9, 3), (13, 5), (17, 3), (31, 5)])
    func matchesPlainLoops(side: Int, kernel: Int) {
        let inC = 10, outC = 9, N = 3, P = side * side
        let tp = taps(kernel), T = tp.count
        var rng = RandomState(seed: UInt64(side * 100 + kernel))
        let x = (0..<(inC * N * P)).map { _ in Float(rng.uniform() * 2 - 1) }
        let g = (0..<(outC * N * P)).map { _ in Float(rng.uniform() * 2 - 1) }
        let w = (0..<(outC * inC * T)).map { _ in Float(rng.uniform() * 2 - 1) }
        let b = (0..<outC).map { _ in Float(rng.uniform()) }
        let conv = DirectConv(inChannels: inC, outChannels: outC, taps: tp, side: side, pad: kernel / 2)

        func at(_ a: [Float], _ c: Int, _ n: Int, _ y: Int, _ xx: Int) -> Double {
            guard y >= 0, y < side, xx >= 0, xx < side else { return 0 }
            return Double(a[c * N * P + n * P + y * side + xx])
        }
        /// Forward, input gradient and weight gradient of one kernel configuration.
        func run(_ k: DirectConv) -> (out: [Float], dIn: [Float], dW: [Float]) {
            var out = [Float](repeating: 0, count: outC * N * P)
            var dIn = [Float](repeating: 0, count: inC * N * P)
            x.withUnsafeBufferPointer { xb in
                out.withUnsafeMutableBufferPointer { ob in
                    k.forward(.maps(xb.baseAddress!), images: N, weights: w, bias: b, out: ob.baseAddress!)
                }
            }
            g.withUnsafeBufferPointer { gb in
                dIn.withUnsafeMutableBufferPointer { ib in
                    k.backwardInput(gb.baseAddress!, images: N, weights: w, into: ib.baseAddress!)
                }
            }
            let dW = x.withUnsafeBufferPointer { xb in
                g.withUnsafeBufferPointer { gb in
                    k.backwardWeights(xb.baseAddress!, gb.baseAddress!, images: N)
                }
            }
            return (out, dIn, dW)
        }
        let (out, dIn, dW) = run(conv)

        var worst = (fwd: 0.0, input: 0.0, weight: 0.0)
        let refOut = plainForward(x, w, b, inC: inC, outC: outC, images: N, side: side, taps: tp)
        let refW = plainWeights(x, g, inC: inC, outC: outC, images: N, side: side, taps: tp)
        var refIn = [Double](repeating: 0, count: dIn.count)
        for n in 0..<N {
            for y in 0..<side {
                for xx in 0..<side {
                    for o in 0..<outC {
                        let go = at(g, o, n, y, xx)
                        for i in 0..<inC {
                            for (t, d) in tp.enumerated() {
                                let yy = y + d.dy, xs = xx + d.dx
                                if yy >= 0, yy < side, xs >= 0, xs < side {
                                    refIn[i * N * P + n * P + yy * side + xs] += Double(w[o * inC * T + i * T + t]) * go
                                }
                            }
                        }
                    }
                }
            }
        }
        #expect(out.count == refOut.count && dW.count == refW.count && !out.isEmpty)
        for k in 0..<out.count { worst.fwd = max(worst.fwd, abs(refOut[k] - Double(out[k]))) }
        for k in 0..<w.count { worst.weight = max(worst.weight, abs(refW[k] - Double(dW[k])) / max(1, abs(refW[k]))) }
        for k in 0..<dIn.count { worst.input = max(worst.input, abs(refIn[k] - Double(dIn[k]))) }
        // Any thread count gives the same bits.
        var threaded = conv
        threaded.threads = 2
        let two = run(threaded)
        #expect(two.out == out && two.dIn == dIn && two.dW == dW, "two threads changed the result")
        #expect(worst.fwd < 1e-4, "forward max error \(worst.fwd)")
        #expect(worst.input < 1e-4, "input gradient max error \(worst.input)")
        #expect(worst.weight < 1e-4, "weight gradient max relative error \(worst.weight)")
    }

    /// Sweeps restricted to hexagon row spans give the same bits as full sweeps at the pixels
    /// they produce, and the weight gradient of a dOut that is zero off the spans matches the
    /// full one (row chunks when they fit in the padded rows, flat chunks otherwise).
    @Test(arguments: [(31, 5), (17, 3), (9, 5), (7, 1)])
    func hexagonSpansMatchFullSweeps(side: Int, kernel: Int) {
        let inC = 6, outC = 5, N = 2, P = side * side, r = side / 2
        let tp = taps(kernel), T = tp.count
        var rng = RandomState(seed: UInt64(side * 7 + kernel))
        let spans: DirectConv.Spans = (0..<side).map { y in (max(0, r - y), min(side - 1, 3 * r - y)) }
        func inside(_ q: Int) -> Bool { let (y, x) = q.quotientAndRemainder(dividingBy: side); return x >= spans[y].x0 && x <= spans[y].x1 }
        let x = (0..<(inC * N * P)).map { _ in Float(rng.uniform() * 2 - 1) }
        let g = (0..<(outC * N * P)).map { k in inside(k % P) ? Float(rng.uniform() * 2 - 1) : 0 }
        let w = (0..<(outC * inC * T)).map { _ in Float(rng.uniform() * 2 - 1) }
        let b = (0..<outC).map { _ in Float(rng.uniform()) }
        for threads in [1, 2] {
            let conv = DirectConv(inChannels: inC, outChannels: outC, taps: tp, side: side, pad: kernel / 2, threads: threads)
            var full = [Float](repeating: 0, count: outC * N * P), part = full
            var fullIn = [Float](repeating: 0, count: inC * N * P), partIn = fullIn
            x.withUnsafeBufferPointer { xb in
                full.withUnsafeMutableBufferPointer {
                    conv.forward(.maps(xb.baseAddress!), images: N, weights: w, bias: b, out: $0.baseAddress!)
                }
                part.withUnsafeMutableBufferPointer {
                    conv.forward(.maps(xb.baseAddress!), images: N, weights: w, bias: b, out: $0.baseAddress!, spans: spans)
                }
            }
            g.withUnsafeBufferPointer { gb in
                fullIn.withUnsafeMutableBufferPointer { conv.backwardInput(gb.baseAddress!, images: N, weights: w, into: $0.baseAddress!) }
                partIn.withUnsafeMutableBufferPointer {
                    conv.backwardInput(gb.baseAddress!, images: N, weights: w, into: $0.baseAddress!, spans: spans, accumulate: false)
                }
            }
            let dW = x.withUnsafeBufferPointer { xb in
                g.withUnsafeBufferPointer { conv.backwardWeights(xb.baseAddress!, $0.baseAddress!, images: N) }
            }
            let dWSpans = x.withUnsafeBufferPointer { xb in
                g.withUnsafeBufferPointer {
                    conv.backwardWeights(xb.baseAddress!, $0.baseAddress!, images: N, spans: spans)
                }
            }
            #expect((0..<full.count).allSatisfy { inside($0 % P) ? part[$0] == full[$0] : part[$0] == 0 }, "forward")
            #expect((0..<fullIn.count).allSatisfy { inside($0 % P) ? partIn[$0] == fullIn[$0] : partIn[$0] == 0 }, "input gradient")
            let worst = zip(dW, dWSpans).map { abs($0 - $1) / max(1, abs($0)) }.max() ?? 0
            #expect(worst < 1e-5, "weight gradient relative difference \(worst)")
        }
    }

}
