import FlyvisTask
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisTraining

@Suite struct SchedulerTests {
    /// Expected arrays worked out by hand from the reference formulas (numpy semantics: repeat
    /// counts truncate, the array is padded to n_iters + 1 entries).
    @Test func stepwiseFamilies() throws {
        let s = try ScheduleFunction.stepwise.array(stopIter: 10, nIterations: 12, start: 1, stop: 0.1, steps: 3)
        #expect(s == [1, 1, 1, 0.55, 0.55, 0.55, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
        let second = try ScheduleFunction.stepwise_2ndhalf.array(stopIter: 10, nIterations: 12, start: 1, stop: 0.1, steps: 3)
        // (10/2)/3 → 1 repeat each, padded at the front with the start value.
        #expect(second == [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.55, 0.1])
        let half = try ScheduleFunction.stepwise_half.array(stopIter: 10, nIterations: 12, start: 1, stop: 0.1, steps: 3)
        #expect(half == [1, 0.55, 0.1] + [Double](repeating: 0.1, count: 10))
        // The default config: 250000 iterations in 10 steps of 25000.
        let d = try ScheduleFunction.stepwise.array(stopIter: 250_000, nIterations: 250_000, start: 5e-5, stop: 5e-6, steps: 10)
        #expect(d.count == 250_001)
        #expect(d[24_999] == 5e-5 && d[25_000] == 4.5e-5 && d[250_000] == 5e-6)
    }

    @Test func linearAndExponentials() throws {
        let l = try ScheduleFunction.linear.array(stopIter: 5, nIterations: 7, start: 1, stop: 0, steps: 3)
        #expect(l == [1, 0.75, 0.5, 0.25, 0, 0, 0, 0])
        let e = try ScheduleFunction.exponential.array(stopIter: 4, nIterations: 5, start: 1, stop: 0.01, steps: 1)
        let tau = -4 / (log(0.01 + 1e-15) - log(1.0))
        #expect(e.count == 6)
        for i in 0..<4 { #expect(abs(e[i] - exp(-Double(i) / tau)) < 1e-15) }
        #expect(e[4] == 0.01 && e[5] == 0.01)
        let eh = try ScheduleFunction.exponential_half.array(stopIter: 10, nIterations: 12, start: 1, stop: 0.1, steps: 3)
        let tauH = -5 / (log(0.1) - log(1.0))
        for i in 0..<5 { #expect(abs(eh[i] - exp(-Double(i) / tauH)) < 1e-15) }
        #expect(eh[5...].allSatisfy { $0 == 0.1 } && eh.count == 13)
        let st = try ScheduleFunction.steponential.array(stopIter: 10, nIterations: 12, start: 1, stop: 0.1, steps: 3)
        let x = pow(10.0, 1.0 / 3)
        #expect(st[0] == 1 && st[2] == 1 && abs(st[3] - 1 / x) < 1e-15 && abs(st[12] - 1 / (x * x)) < 1e-15)
    }

    @Test func valuesPastTheEndAndErrors() throws {
        let s = try Schedule(target: .lr_net, function: .stepwise, start: 1, stop: 0.1, steps: 3, stopIter: 10, nIterations: 12)
        #expect(s.value(at: 4) == 0.55 && s.value(at: 1000) == 0.1)
        #expect(throws: TrainingConfigError.self) { _ = try ScheduleFunction.named("steponential_inv", key: "scheduler.lr_net.function") }
        #expect(throws: TrainingConfigError.self) { _ = try ScheduleFunction.named("cosine", key: "scheduler.lr_net.function") }
        #expect(throws: TrainingConfigError.self) { _ = try HyperParameterScheduler.target(named: "lr_everything") }
        #expect(throws: TrainingConfigError.self) {
            _ = try Schedule(target: .dt, function: .linear, start: 1, stop: 0, steps: 1, stopIter: 20, nIterations: 10)
        }
    }
}

@Suite struct OptimizerTests {
    @Test func adamFollowsTorch() {
        var adam = Adam(groups: [["w"], ["d"]], learningRates: [0.1, 0.01])
        var w: [Float] = [1, -2, 0.5]
        let g1: [Float] = [0.5, -1, 0]
        adam.step("w", &w, g1)
        // Step 1: m̂ = g, v̂ = g², so the update is lr·g/(|g| + eps): ±lr, and 0 for g = 0.
        #expect(abs(w[0] - 0.9) < 1e-6 && abs(w[1] - (-1.9)) < 1e-6 && w[2] == 0.5)
        let g2: [Float] = [0.25, -1, 2]
        adam.step("w", &w, g2)
        // Step 2 by hand for entry 0: m = 0.9·0.05… computed in double.
        let m = 0.1 * 0.5 + 0.1 * (0.25 - 0.1 * 0.5) * 1  // lerp(m1, g2, 0.1) with m1 = 0.05
        let v = 0.999 * (0.001 * 0.25) + 0.001 * 0.0625
        let expected = 0.9 - 0.1 / (1 - 0.81) * m / ((v).squareRoot() / (1 - pow(0.999, 2)).squareRoot() + 1e-8)
        #expect(abs(Double(w[0]) - expected) < 1e-6)
        #expect(adam.state["w"]!.step == 2 && adam.state["d"] == nil)
        #expect(adam.id(of: "d") == 1 && adam.group(of: "d") == 1)
    }

    @Test func sgdMomentumNesterovDecay() {
        var plain = SGD<String>(learningRate: 0.1)
        var p: [Float] = [1]
        plain.step("p", &p, [2])
        #expect(p == [0.8])
        var mom = SGD<String>(learningRate: 0.1, momentum: 0.9, dampening: 0.5)
        var q: [Float] = [1]
        mom.step("q", &q, [1])  // first step: buffer = g
        #expect(abs(q[0] - 0.9) < 1e-7)
        mom.step("q", &q, [1])  // buffer = 0.9·1 + 0.5·1 = 1.4
        #expect(abs(q[0] - (0.9 - 0.14)) < 1e-6)
        var nes = SGD<String>(learningRate: 0.1, momentum: 0.5, weightDecay: 0.1, nesterov: true)
        var r: [Float] = [2]
        nes.step("r", &r, [1])  // d = 1 + 0.2 = 1.2; buffer = 1.2; d = 1.2 + 0.5·1.2 = 1.8
        #expect(abs(r[0] - (2 - 0.18)) < 1e-6)
    }

    @Test func penaltyConfigErrorsAndGradient() throws {
        #expect(throws: TrainingConfigError.self) {
            _ = try Penalizer(activity: nil, activityParameters: [.bias], parameterPenalties: [])
        }
        #expect(throws: TrainingConfigError.self) {
            _ = try Penalizer(
                activity: ActivityPenalty(weight: 0, baseline: 0, stopIter: nil, belowBaselineWeight: 0, aboveBaselineWeight: 0),
                activityParameters: [.bias], parameterPenalties: [])
        }
        let wd = ParameterPenalty(parameter: .synStrength, function: .weight_decay, lambda: 0.5)
        #expect(wd.evaluate([1, -2]).penalty == 2.5 && wd.evaluate([1, -2]).gradient == [1, -2])
        let prior = ParameterPenalty(parameter: .timeConst, function: .prior, lambda: 1, prior: 0.05)
        #expect(abs(prior.evaluate([0.15]).gradient[0] - 0.2) < 1e-6)
        let p = try Penalizer(
            activity: nil, activityParameters: [],
            parameterPenalties: [wd, ParameterPenalty(parameter: .sign, function: .prior, lambda: 0)])
        #expect(p.parameterPenalties.count == 1 && p.parameterOptimizer != nil)

        // Activity penalty gradient against a finite difference.
        let a = ActivityPenalty(weight: 0.1, baseline: 0.5, stopIter: 10, belowBaselineWeight: 1, aboveBaselineWeight: 0.1)
        var act: [Float] = (0..<48).map { (i: Int) -> Float in Float((i * 37) % 11) / 10 }
        let (base, grad) = a.evaluate(batch: 2, frames: 8, types: 3) { b, t, k in act[(b * 8 + t) * 3 + k] }
        #expect(grad[0] == 0, "frames before n_frames/4 get no gradient")
        let i = (1 * 8 + 5) * 3 + 2
        act[i] += 1e-3
        let plus = a.evaluate(batch: 2, frames: 8, types: 3) { b, t, k in act[(b * 8 + t) * 3 + k] }.penalty
        let fd: Double = (plus - base) / 1e-3
        let analytic = Double(grad[i])
        #expect(abs(fd - analytic) < 1e-4)
        #expect(a.isActive(at: 9) && !a.isActive(at: 10))
    }
}
