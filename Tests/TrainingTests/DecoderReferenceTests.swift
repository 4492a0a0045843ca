import FlyvisHDF5
import FlyvisHex
import FlyvisNetwork
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisTask

/// The decoder against flyvis's DecoderGAVP (p_dropout 0 in the golden file).
@Suite(.serialized) struct DecoderReferenceTests {
    struct Setup {
        let network: Network
        let decoder: DecoderGAVP
        let ref: HDF5File
        let input: [Float]  // (B, T, 34, hexals) output-type activity
        let target: [Float]
        let shape: [Int]  // (B, T, 2, hexals)
        let B: Int, T: Int
    }

    static func setup() throws -> Setup {
        let network = try Reference.network()
        let ref = try Reference.open()
        let dt = try ref.attribute("dt", on: "simulate", as: Double.self)
        let tPre = try ref.attribute("t_pre", on: "simulate", as: Double.self)
        let lum: HDF5Array<Float> = try ref.read("simulate/lum")
        let (B, T) = (lum.shape[0], lum.shape[1])
        let steady = try network.steadyState(tPre: tPre, dt: dt, batch: B)
        try lum.values.withUnsafeBufferPointer { try network.forward(movie: $0, batch: B, frames: T, dt: dt, state: steady) }
        let c = network.connectome
        let outputs = c.outputCellTypes.map { c.typeIndex($0)! }
        let first = c.typeNodeStart[outputs[0]]
        let count = outputs.count * c.lattice.count
        var input = [Float](repeating: 0, count: B * T * count)
        for t in 0..<T {
            input.withUnsafeMutableBufferPointer {
                network.engine.copyState(
                    frame: t, nodes: first..<(first + count), into: $0.baseAddress! + t * count, batchStride: T * count)
            }
        }
        var config = DecoderConfig()
        config.pDropout = 0
        let decoder = try DecoderGAVP(config: config, lattice: c.lattice, inChannels: outputs.count)
        let target: HDF5Array<Float> = try ref.read("decoder/flow_target")
        return Setup(
            network: network, decoder: decoder, ref: ref, input: input, target: target.values,
            shape: target.shape, B: B, T: T)
    }

    /// The golden run starts from perturbed decoder parameters (decoder/init); load them.
    static func loadInit(_ s: Setup) throws {
        for name in try s.ref.children("decoder/init") {
            try s.decoder.setState(name, try s.ref.read("decoder/init/\(name)", as: Float.self).values)
        }
        for name in try s.ref.children("decoder/init_buffers") {
            let v: [Double] =
                name.hasSuffix("num_batches_tracked")
                ? try s.ref.read("decoder/init_buffers/\(name)", as: Int64.self).values.map(Double.init)
                : try s.ref.read("decoder/init_buffers/\(name)", as: Double.self).values
            try s.decoder.setState(name, v.map(Float.init))
        }
    }

    @Test func stateNamesShapesAndLoadedValues() throws {
        let s = try Self.setup()
        #expect(s.decoder.parameterCount == 7427)
        try Self.loadInit(s)
        for name in try s.ref.children("decoder/init") {
            let want: HDF5Array<Float> = try s.ref.read("decoder/init/\(name)")
            let ours = try #require(s.decoder.state(name))
            #expect(ours.shape == want.shape, "\(name)")
            // Masked taps are zero in the golden file too, so the round trip is exact.
            #expect(ours.values == want.values, "\(name) round trip")
        }
        #expect(Set(s.decoder.stateNames) == Set(try s.ref.children("decoder/init") + s.ref.children("decoder/init_buffers")))
    }

    @Test func constantInitialisationIsMaskedConstant() throws {
        let s = try Self.setup()
        let w = try #require(s.decoder.state("base.0.weight"))
        let taps = w.values.prefix(25)
        // 19 of 25 taps of the 5×5 hex kernel carry the constant, the corners stay zero.
        #expect(taps.filter { $0 == 0.001 }.count == 19 && taps.filter { $0 == 0 }.count == 6)
        #expect(w.values.allSatisfy { $0 == 0.001 || $0 == 0 })
        #expect(try #require(s.decoder.state("base.0.bias")).values.allSatisfy { $0 == 0.001 })
        #expect(try #require(s.decoder.state("base.1.running_var")).values.allSatisfy { $0 == 1 })
    }

    @Test func evalModeOutputAndLoss() throws {
        let s = try Self.setup()
        try Self.loadInit(s)
        // The golden eval run came after the train-mode step, so BatchNorm uses the running
        // statistics that step produced.
        for name in try s.ref.children("decoder/train/buffers_after") {
            let v: [Double] =
                name.hasSuffix("num_batches_tracked")
                ? try s.ref.read("decoder/train/buffers_after/\(name)", as: Int64.self).values.map(Double.init)
                : try s.ref.read("decoder/train/buffers_after/\(name)", as: Double.self).values
            try s.decoder.setState(name, v.map(Float.init))
        }
        s.decoder.training = false
        let out = try s.input.withUnsafeBufferPointer { try s.decoder.forward($0, batch: s.B, frames: s.T) }
        let want: [Float] = try s.ref.read("decoder/eval/output").values
        #expect(maxAbsDiff(out, want) <= 1e-5 * max(1, maxAbs(want)))
        let (loss, _) = Objective.l2norm.evaluate(out, s.target, shape: s.shape)
        let wantLoss = Double(try s.ref.readScalar("decoder/eval/loss", as: Float.self))
        #expect(abs(loss - wantLoss) <= 1e-5 * abs(wantLoss))
    }

    @Test func trainModeOutputGradientsAndBuffers() throws {
        let s = try Self.setup()
        try Self.loadInit(s)
        s.decoder.training = true
        let out = try s.input.withUnsafeBufferPointer { try s.decoder.forward($0, batch: s.B, frames: s.T) }
        let want: [Float] = try s.ref.read("decoder/train/output").values
        #expect(maxAbsDiff(out, want) <= 1e-5 * max(1, maxAbs(want)))
        let (loss, dOut) = Objective.l2norm.evaluate(out, s.target, shape: s.shape)
        let wantLoss = Double(try s.ref.readScalar("decoder/train/loss", as: Float.self))
        #expect(abs(loss - wantLoss) <= 1e-5 * abs(wantLoss))
        let dIn = dOut.withUnsafeBufferPointer { s.decoder.backward($0) }

        // Decoder parameter gradients; the masked conv taps are zero by design (README).
        for name in try s.ref.children("decoder/train/grad") {
            let ref: [Float] = try s.ref.read("decoder/train/grad/\(name)").values
            let ours = try #require(s.decoder.gradient(name))
            let mask = name.hasSuffix("weight") && ref.count > 8 ? try #require(s.decoder.state(name)).values.map { $0 != 0 } : nil
            let refUsed = mask.map { m in zip(ref, m).map { $1 ? $0 : 0 } } ?? ref
            var tol = 1e-4 * maxAbs(refUsed)
            if name == "base.0.bias", s.decoder.config.batchNorm {
                // A bias right before BatchNorm has zero gradient in exact arithmetic (BN removes
                // the mean); both sides hold float32 rounding noise, so bound it by the scale of
                // the same layer's weight gradient instead.
                tol = 1e-4 * maxAbs(try s.ref.read("decoder/train/grad/base.0.weight", as: Float.self).values)
            }
            #expect(maxAbsDiff(ours, refUsed) <= tol, "\(name)")
        }
        for name in try s.ref.children("decoder/train/buffers_after") {
            let want: [Double] =
                name.hasSuffix("num_batches_tracked")
                ? try s.ref.read("decoder/train/buffers_after/\(name)", as: Int64.self).values.map(Double.init)
                : try s.ref.read("decoder/train/buffers_after/\(name)", as: Double.self).values
            let ours = try #require(s.decoder.state(name)).values.map(Double.init)
            let ok = allClose(ours, want) { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }
            #expect(ok, "\(name)")
        }

        // Network gradients through the decoder and BPTT.
        let c = s.network.connectome
        let first = c.typeNodeStart[c.typeIndex(c.outputCellTypes[0])!]
        let count = c.outputCellTypes.count * c.lattice.count
        let T = s.T
        let g = s.network.engine.backward { t, _, sink in
            dIn.withUnsafeBufferPointer {
                sink.add(nodes: first..<(first + count), values: $0.baseAddress! + t * count, batchStride: T * count)
            }
        }
        for (name, ours) in [("nodes_bias", g.bias), ("nodes_time_const", g.timeConst), ("edges_syn_strength", g.synStrength)] {
            let want: [Float] = try s.ref.read("decoder/train/grad_network/\(name)").values
            let tol = 1e-4 * Double(maxAbs(want))
            let err = maxAbsDiff(ours, want)
            #expect(err <= tol, "\(name): \(err) > \(tol)")
        }
    }
}
