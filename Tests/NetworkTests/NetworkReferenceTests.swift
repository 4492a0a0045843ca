import FlyvisConnectome
import FlyvisHDF5
import FlyvisRandom
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisNetwork

/// One shared full-size connectome for the reference tests (building it takes a moment).
enum Shared {
    static let connectome = Result { try Connectome() }
}

@Suite struct ParameterReferenceTests {
    @Test func keysAndGroupOrders() throws {
        let c = try Shared.connectome.get()
        let p = try NetworkParameters(connectome: c)
        let ref = try Reference.open()
        #expect(p.typeNames == (try ref.readStrings("param_keys/nodes_type")))
        let src = try ref.readStrings("param_keys/edges_type_source"), tgt = try ref.readStrings("param_keys/edges_type_target")
        #expect(p.edgeTypeKeys.map(\.source) == src && p.edgeTypeKeys.map(\.target) == tgt)
        let s = try ref.readStrings("param_keys/syn_count_source"), t = try ref.readStrings("param_keys/syn_count_target")
        let du: [Int64] = try ref.read("param_keys/syn_count_du").values
        let dv: [Int64] = try ref.read("param_keys/syn_count_dv").values
        #expect(p.synCountKeys.map(\.source) == s && p.synCountKeys.map(\.target) == t)
        #expect(p.synCountKeys.map { Int64($0.du) } == du && p.synCountKeys.map { Int64($0.dv) } == dv)
    }

    @Test func initialVectorsAreExact() throws {
        let c = try Shared.connectome.get()
        let p = try NetworkParameters(connectome: c)
        let ref = try Reference.open()
        for name in ParameterName.allCases {
            let want: [Float] = try ref.read("params_initial/\(name)").values
            #expect(p[name] == want, "\(name)")
        }
    }

    @Test func torchNormalEmulationMatchesTheEmbeddedDraw() throws {
        let c = try Shared.connectome.get()
        let ref = try Reference.open()
        let want: [Float] = try ref.read("params_initial/nodes_bias").values
        let ours = TorchNormal.sample(count: c.cellTypes.count, mean: 0.5, std: 0.05, seed: 0)
        // Double-precision emulation of torch's float32 Box–Muller: within 2 ulp at 0.5.
        #expect(maxAbsDiff(ours, want) <= 2 * Float(0.5).ulp)
    }

    @Test func keyLookup() throws {
        let c = try Shared.connectome.get()
        var p = try NetworkParameters(connectome: c)
        #expect(try p.value(.timeConst, "T4a") == p.timeConst[c.typeIndex("T4a")!])
        let i = try p.edgeTypeIndex(source: "R1", target: "L1")
        #expect(try p.value(.synStrength, "R1", "L1") == p.synStrength[i])
        try p.setValue(.bias, ["Mi1"], 0.25)
        #expect(p.bias[c.typeIndex("Mi1")!] == 0.25)
        #expect(throws: ParameterError.self) { _ = try p.value(.bias, "NotAType") }
        #expect(try p.value(.synCount, "R1", "L1", "0", "0") == p.synCount[try p.synCountIndex(source: "R1", target: "L1", du: 0, dv: 0)])
    }
}

@Suite struct SimulationReferenceTests {
    func referenceNetwork() throws -> (Network, HDF5File) {
        let c = try Shared.connectome.get()
        let ref = try Reference.open()
        var p = try NetworkParameters(connectome: c)
        for name in ParameterName.allCases { try p.set(name, try ref.read("params/\(name)").values) }
        let net = try Network(connectome: c, parameters: p)
        return (net, ref)
    }

    @Test func steadyStateAndActivities() throws {
        let (net, ref) = try referenceNetwork()
        let dt = try ref.attribute("dt", on: "simulate", as: Double.self)
        let tPre = try ref.attribute("t_pre", on: "simulate", as: Double.self)
        let grey = try ref.attribute("grey_value", on: "simulate", as: Double.self)
        let lum: HDF5Array<Float> = try ref.read("simulate/lum")
        let (B, T) = (lum.shape[0], lum.shape[1])
        let steady = try #require(try net.steadyState(tPre: tPre, dt: dt, batch: B, value: Float(grey)))
        let wantSteady: [Float] = try ref.read("simulate/steady_state").values
        // The file holds (B, N) or, since grey input makes every sample the same, one row (N).
        let nodes = net.nodeCount
        #expect(wantSteady.count == steady.count || wantSteady.count == nodes, "steady_state has \(wantSteady.count) values")
        let expanded = wantSteady.count == nodes ? Array((0..<B).map { _ in wantSteady }.joined()) : wantSteady
        #expect(maxAbsDiff(steady, expanded) <= 1e-5)

        try lum.values.withUnsafeBufferPointer { try net.forward(movie: $0, batch: B, frames: T, dt: dt, state: steady) }
        var all = [Float](repeating: 0, count: B * net.nodeCount)
        var sum = 0.0, lo = Float.infinity, hi = -Float.infinity
        for t in 0..<T {
            all.withUnsafeMutableBufferPointer { net.engine.copyState(frame: t, into: $0.baseAddress!) }
            for x in all { sum += Double(x); lo = min(lo, x); hi = max(hi, x) }
            let name = String(format: "simulate/activity_t%02d", t)
            if ref.exists(name) {
                let want: [Float] = try ref.read(name).values
                #expect(maxAbsDiff(all, want) <= 1e-5, "\(name)")
            }
        }
        let central: HDF5Array<Float> = try ref.read("simulate/central_activity")
        let cells = net.connectome.centralCellsIndex
        var ours = [Float]()
        for b in 0..<B { for t in 0..<T { for n in cells { ours.append(net.engine.value(frame: t, node: n, batch: b)) } } }
        #expect(maxAbsDiff(ours, central.values) <= 1e-5)
        let mean = sum / Double(B * T * net.nodeCount)
        #expect(abs(mean - Double(try ref.readScalar("simulate/activity_mean", as: Float.self))) <= 1e-5)
        #expect(abs(lo - (try ref.readScalar("simulate/activity_min", as: Float.self))) <= 1e-5)
        #expect(abs(hi - (try ref.readScalar("simulate/activity_max", as: Float.self))) <= 1e-5)
    }

    @Test func centralMSEGradients() throws {
        let (net, ref) = try referenceNetwork()
        let dt = try ref.attribute("dt", on: "simulate", as: Double.self)
        let tPre = try ref.attribute("t_pre", on: "simulate", as: Double.self)
        let lum: HDF5Array<Float> = try ref.read("simulate/lum")
        let (B, T) = (lum.shape[0], lum.shape[1])
        let steady = try net.steadyState(tPre: tPre, dt: dt, batch: B)
        try lum.values.withUnsafeBufferPointer { try net.forward(movie: $0, batch: B, frames: T, dt: dt, state: steady) }
        let target: [Float] = try ref.read("grad_central_mse/target").values
        let cells = net.connectome.centralCellsIndex
        let K = cells.count
        // loss = mean over (b, t, type) of (central − target)²
        var loss = 0.0
        for b in 0..<B {
            for t in 0..<T {
                for (j, n) in cells.enumerated() {
                    let d = Double(net.engine.value(frame: t, node: n, batch: b) - target[t * K + j]); loss += d * d
                }
            }
        }
        loss /= Double(B * T * K)
        let wantLoss = Double(try ref.readScalar("grad_central_mse/loss", as: Float.self))
        #expect(abs(loss - wantLoss) <= 1e-5 * abs(wantLoss))
        let scale = Float(2.0 / Double(B * T * K))
        let grads = net.engine.backward { t, lane, add in
            for b in 0..<B {
                for (j, n) in cells.enumerated() {
                    add(n, b, scale * (net.engine.value(frame: t, node: n, batch: b) - target[t * K + j]))
                }
            }
        }
        for (name, ours) in [
            ("nodes_bias", grads.bias), ("nodes_time_const", grads.timeConst),
            ("edges_syn_strength", grads.synStrength),
        ] {
            let want: [Float] = try ref.read("grad_central_mse/\(name)").values
            let tol = 1e-4 * Double(want.map { abs($0) }.max()!)
            let err = maxAbsDiff(ours, want)
            #expect(err <= tol, "\(name): max error \(err) > \(tol)")
        }
    }
}
