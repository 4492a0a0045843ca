import FlyvisConnectome
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisNetwork

/// BPTT against central finite differences, in Double, on a small lattice.
@Suite struct GradientCheckTests {
    struct Problem {
        var bias: [Double], tau: [Double], sign: [Double], count: [Double], strength: [Double]
        let movie: [Double]
        let weights: [Double]  // loss = ½ Σ weights · v²  over (b, t, n)
        let penalty: [Double]  // second loss, linear: Σ penalty · v
        let B = 2, T = 7, dt = 0.02
    }

    static func make(_ c: Connectome, seed: UInt64) throws -> Problem {
        var rng = SplitMix(seed)
        let p = try NetworkParameters(connectome: c)
        let n = c.nodeCount, hex = c.lattice.count
        var prob = Problem(
            bias: p.bias.map { Double($0) + rng.uniform(-0.3, 0.3) },
            // some time constants below dt exercise the max(τ, dt) rule
            tau: p.timeConst.enumerated().map { i, _ in i % 7 == 0 ? 0.01 : rng.uniform(0.025, 0.1) },
            sign: p.sign.map(Double.init), count: p.synCount.map(Double.init),
            strength: p.synStrength.map { Double($0) * rng.uniform(5, 40) },
            movie: (0..<(2 * 7 * hex)).map { _ in rng.uniform(0, 1) },
            weights: (0..<(2 * 7 * n)).map { _ in rng.uniform(-1, 1) },
            penalty: (0..<(2 * 7 * n)).map { _ in rng.uniform(-1, 1) })
        prob.bias[0] += 0  // keep mutable
        return prob
    }

    static func losses(_ e: NetworkEngine<Double>, _ p: Problem, initialFromBias: Bool) -> (Double, Double) {
        e.setParameters(bias: p.bias, timeConst: p.tau, sign: p.sign, synCount: p.count, synStrength: p.strength)
        e.reserve(batch: p.B, frames: p.T)
        if initialFromBias {
            e.setInitialStateToBias()
        } else {
            let state = (0..<(p.B * e.nodeCount)).map { Double($0 % 13) * 0.05 - 0.2 }
            state.withUnsafeBufferPointer { e.setInitialState($0.baseAddress!) }
        }
        let hex = p.movie.count / (p.B * p.T)
        e.forward(frames: p.T, dt: p.dt) { t, into in
            for b in 0..<p.B { for h in 0..<hex { into[b * hex + h] = p.movie[(b * p.T + t) * hex + h] } }
            return true
        }
        var l1 = 0.0, l2 = 0.0
        for b in 0..<p.B {
            for t in 0..<p.T {
                for n in 0..<e.nodeCount {
                    let v = e.value(frame: t, node: n, batch: b), i = (b * p.T + t) * e.nodeCount + n
                    l1 += 0.5 * p.weights[i] * v * v
                    l2 += p.penalty[i] * v
                }
            }
        }
        return (l1, l2)
    }

    func check(activation: Activation, initialFromBias: Bool) throws {
        let c = try Connectome(extent: 3)
        let e = NetworkEngine<Double>(connectome: c, activation: activation)
        let p = try Self.make(c, seed: 7)
        _ = Self.losses(e, p, initialFromBias: initialFromBias)
        let g = e.backward(penaltyLane: true) { t, lane, add in
            for b in 0..<p.B {
                for n in 0..<e.nodeCount {
                    let i = (b * p.T + t) * e.nodeCount + n
                    add(n, b, lane == 0 ? p.weights[i] * e.value(frame: t, node: n, batch: b) : p.penalty[i])
                }
            }
        }
        // Central differences: the truncation error is O(h²), the rounding error about
        // ε·|loss|/h, and the losses reach 1e5–1e6 here. At h = 1e-6 the rounding alone came to
        // the tolerance (softplus penalty bias: 1.06× it); at 1e-5 every check is within a tenth
        // of it, and 1e-4 is too coarse for the ReLU kinks and for elu/tanh.
        let h = 1e-5
        func fd(_ modify: (inout Problem, Double) -> Void) -> (Double, Double) {
            var plus = p, minus = p
            modify(&plus, h); modify(&minus, -h)
            let (a1, a2) = Self.losses(e, plus, initialFromBias: initialFromBias)
            let (b1, b2) = Self.losses(e, minus, initialFromBias: initialFromBias)
            return ((a1 - b1) / (2 * h), (a2 - b2) / (2 * h))
        }
        func close(_ a: Double, _ b: Double, _ what: String) {
            #expect(abs(a - b) <= 1e-6 + 1e-5 * max(abs(a), abs(b)), "\(what): BPTT \(a) vs finite difference \(b)")
        }
        for t in [0, 3, 8, 20, 31, 44, 64] {
            let (d1, d2) = fd { $0.bias[t] += $1 }
            close(g.bias[t], d1, "bias[\(t)]")
            close(g.penaltyBias![t], d2, "penalty bias[\(t)]")
            if p.tau[t] > p.dt {
                close(g.timeConst[t], fd { $0.tau[t] += $1 }.0, "time_const[\(t)]")
            } else {
                #expect(g.timeConst[t] == 0, "τ < dt gets no gradient")
            }
        }
        for k in stride(from: 0, to: p.strength.count, by: max(1, p.strength.count / 9)) {
            close(g.synStrength[k], fd { $0.strength[k] += $1 }.0, "syn_strength[\(k)]")
        }
    }

    @Test func reluFromGivenState() throws { try check(activation: .relu, initialFromBias: false) }
    @Test func softplusFromBias() throws { try check(activation: .softplus(beta: 1, threshold: 20), initialFromBias: true) }
    @Test func eluAndTanh() throws {
        try check(activation: .elu(alpha: 1), initialFromBias: false)
        try check(activation: .tanh, initialFromBias: false)
    }
}

/// Small deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        lo + (hi - lo) * Double(next() >> 11) * 0x1p-53
    }
}
