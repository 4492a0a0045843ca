import FlyvisHex
import FlyvisRandom
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisTask

/// Decoder backward against central finite differences (float32, small maps, smooth loss).
@Suite struct DecoderGradientTests {
    struct Case {
        let decoder: DecoderGAVP
        let input: [Float]
        let weights: [Float]  // loss = Σ weights · output
        let B = 2, T = 3
    }

    func make(batchNorm: Bool, normalizeLast: Bool, dropout: Double, nOut: Int? = nil, shape: [Int] = [3, 2]) throws -> Case {
        var config = DecoderConfig()
        config.shape = shape
        config.kernelSize = 3
        config.constWeight = nil  // random init, so every tap matters
        config.batchNorm = batchNorm
        config.normalizeLast = normalizeLast
        config.pDropout = dropout
        config.nOutFeatures = nOut
        let lattice = HexLattice(extent: 2)
        let d = try DecoderGAVP(config: config, lattice: lattice, inChannels: 4, seed: 3)
        var rng = RandomState(seed: 11)
        let input = (0..<(2 * 3 * 4 * lattice.count)).map { _ in Float(rng.uniform() * 2 - 0.5) }
        let outCount = 2 * 3 * (nOut.map { 2 * $0 } ?? 2 * lattice.count)
        let weights = (0..<outCount).map { _ in Float(rng.uniform() * 2 - 1) }
        return Case(decoder: d, input: input, weights: weights)
    }

    func loss(_ c: Case, _ input: [Float], dropoutState: RandomState) throws -> Double {
        c.decoder.dropoutRNG = dropoutState  // the same dropout mask on every evaluation
        let out = try input.withUnsafeBufferPointer { try c.decoder.forward($0, batch: c.B, frames: c.T) }
        return zip(out, c.weights).reduce(0.0) { $0 + Double($1.0 * $1.1) }
    }

    func check(_ c: Case) throws {
        let state = c.decoder.dropoutRNG
        _ = try loss(c, c.input, dropoutState: state)
        let gIn = c.weights.withUnsafeBufferPointer { c.decoder.backward($0) }
        let gParams = Dictionary(uniqueKeysWithValues: c.decoder.parameterNames.map { ($0, c.decoder.gradient($0)!) })
        let h: Float = 1e-2
        func close(_ a: Float, _ b: Double, _ what: String) {
            #expect(abs(Double(a) - b) <= 2e-3 + 2e-2 * abs(b), "\(what): backward \(a) vs finite difference \(b)")
        }
        // Input entries (including some the input ReLU clamps).
        for i in stride(from: 0, to: c.input.count, by: 37) where abs(c.input[i]) > 2 * h {
            var p = c.input, m = c.input
            p[i] += h; m[i] -= h
            close(gIn[i], (try loss(c, p, dropoutState: state) - loss(c, m, dropoutState: state)) / Double(2 * h), "input[\(i)]")
        }
        // Every parameter: a few entries each (live taps for conv weights).
        for name in c.decoder.parameterNames {
            let full = c.decoder.state(name)!.values
            for i in stride(from: 0, to: full.count, by: max(1, full.count / 6)) where full[i] != 0 || !name.hasSuffix("weight") {
                var p = full, m = full
                p[i] += h; m[i] -= h
                try c.decoder.setState(name, p)
                let lp = try loss(c, c.input, dropoutState: state)
                try c.decoder.setState(name, m)
                let lm = try loss(c, c.input, dropoutState: state)
                try c.decoder.setState(name, full)
                close(gParams[name]![i], (lp - lm) / Double(2 * h), "\(name)[\(i)]")
            }
        }
    }

    @Test func batchNormAndNormalizeLast() throws { try check(make(batchNorm: true, normalizeLast: true, dropout: 0)) }
    @Test func withDropoutMask() throws { try check(make(batchNorm: true, normalizeLast: true, dropout: 0.5)) }
    @Test func plainConvolutions() throws { try check(make(batchNorm: false, normalizeLast: false, dropout: 0)) }
    @Test func globalAveragePoolingHead() throws { try check(make(batchNorm: true, normalizeLast: true, dropout: 0, nOut: 3)) }
    /// No hidden layers: BatchNorm then the last convolution (the input stays a plain map), or
    /// the last convolution alone (it takes the input in its padded layout and is also the first).
    @Test(arguments: [true, false]) func lastConvolutionOnly(batchNorm: Bool) throws {
        try check(make(batchNorm: batchNorm, normalizeLast: true, dropout: 0, shape: [2]))
    }

    @Test func evalModeUsesRunningStatistics() throws {
        let c = try make(batchNorm: true, normalizeLast: true, dropout: 0.5)
        c.decoder.training = false
        let a = try c.input.withUnsafeBufferPointer { try c.decoder.forward($0, batch: c.B, frames: c.T) }
        let b = try c.input.withUnsafeBufferPointer { try c.decoder.forward($0, batch: c.B, frames: c.T) }
        #expect(a == b, "eval mode is deterministic (no dropout, fixed statistics)")
        #expect(c.decoder.state("base.1.num_batches_tracked")!.values == [0])
        c.decoder.training = true
        _ = try c.input.withUnsafeBufferPointer { try c.decoder.forward($0, batch: c.B, frames: c.T) }
        #expect(c.decoder.state("base.1.num_batches_tracked")!.values == [1])
        #expect(c.decoder.state("base.1.running_mean")!.values != [0, 0, 0])
    }

    @Test func badConfigAndInputAreRejected() throws {
        var config = DecoderConfig()
        config.kernelSize = 4
        #expect(throws: DecoderError.self) { _ = try DecoderGAVP(config: config, lattice: HexLattice(extent: 2), inChannels: 3) }
        let d = try DecoderGAVP(lattice: HexLattice(extent: 2), inChannels: 3)
        #expect(throws: DecoderError.inputShape(expected: [1, 1, 3, 19], found: 5)) {
            _ = try [Float](repeating: 0, count: 5).withUnsafeBufferPointer { try d.forward($0, batch: 1, frames: 1) }
        }
    }
}

/// The eight-lane softplus and its derivative against torch's formulas in double.
@Suite struct SIMDSoftplusTests {
    @Test func matchesTorchSoftplus() {
        var worst = (value: 0.0, derivative: 0.0)
        for k in -4000...4000 {
            let x = Float(k) * 0.0125 + Float(k % 7) * 1e-4  // −50 … 50, across the threshold at 20
            let v = SIMDSoftplus.value(SIMD8(repeating: x))[0], d = SIMDSoftplus.derivative(SIMD8(repeating: x))[0]
            let xd = Double(x)
            let wantV = xd > 20 ? xd : log1p(exp(xd)), wantD = xd > 20 ? 1 : 1 / (1 + exp(-xd))
            worst.value = max(worst.value, abs(Double(v) - wantV) / max(wantV, 1e-30))
            worst.derivative = max(worst.derivative, abs(Double(d) - wantD) / max(wantD, 1e-30))
        }
        #expect(worst.value < 1e-6, "softplus relative error \(worst.value)")
        #expect(worst.derivative < 1e-6, "derivative relative error \(worst.derivative)")
    }
}

/// Dropout's mask against its definition, draw by draw: `value` where uniformFloat() < keep.
@Suite struct DropoutMaskTests {
    @Test(arguments: [0.5, 0.1, 0.9, 1e-7]) func maskIsTheDefinitionDrawByDraw(keep: Float) {
        let n = 100_003, value = 1 / keep
        let threshold = UInt64((keep * 0x1p24).rounded(.up))
        var fast = RandomState(seed: 42), slow = fast
        var mask = [Float](repeating: -1, count: n)
        mask.withUnsafeMutableBufferPointer { fast.bernoulliMask($0, below: threshold, value: value) }
        let expected = (0..<n).map { _ in slow.uniformFloat() < keep ? value : 0 }
        #expect(mask.count == expected.count && !mask.isEmpty)
        #expect(mask == expected)
        #expect(fast == slow, "one draw per element")
        let kept = Double(mask.filter { $0 != 0 }.count) / Double(n)
        #expect(abs(kept - Double(keep)) < 0.01)
    }
}
