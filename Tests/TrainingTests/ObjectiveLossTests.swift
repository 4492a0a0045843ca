import FlyvisRandom
import FlyvisTask
import Testing

/// Evaluation takes the loss without its gradient; it must be bit for bit the training loss,
/// and both must be the objective as defined (float rounding apart).
@Suite struct ObjectiveLossTests {
    @Test(arguments: [Objective.l2norm, .epe]) func lossAloneEqualsEvaluate(objective: Objective) {
        let shape = [3, 4, 2, 37]
        var rng = RandomState(seed: 5)
        let n = shape.reduce(1, *)
        let prediction = (0..<n).map { _ in rng.uniformFloat() - 0.5 }
        var target = (0..<n).map { _ in rng.uniformFloat() - 0.5 }
        // One sample (and, for epe, some positions) exactly on target: zero norms.
        for i in 0..<(n / 3) { target[i] = prediction[i] }
        let want = objective.evaluate(prediction, target, shape: shape).loss
        let got = prediction.withUnsafeBufferPointer { p in target.withUnsafeBufferPointer { objective.loss(p, $0, shape: shape) } }
        #expect(want.isFinite && want > 0)
        #expect(got == want)
        // Against the definitions, summed in Double here.
        let (B, T, C, H) = (shape[0], shape[1], shape[2], shape[3])
        func d(_ b: Int, _ t: Int, _ c: Int, _ h: Int) -> Double {
            let i = ((b * T + t) * C + c) * H + h
            return Double(prediction[i]) - Double(target[i])
        }
        var defined = 0.0
        switch objective {
        case .l2norm:  // mean over samples of the sample's Euclidean norm
            for b in 0..<B {
                var s = 0.0
                for t in 0..<T { for c in 0..<C { for h in 0..<H { s += d(b, t, c, h) * d(b, t, c, h) } } }
                defined += s.squareRoot() / Double(B)
            }
        case .epe:  // mean over (b, t, h) of the flow vector's error norm
            for b in 0..<B {
                for t in 0..<T {
                    for h in 0..<H {
                        var s = 0.0
                        for c in 0..<C { s += d(b, t, c, h) * d(b, t, c, h) }
                        defined += s.squareRoot() / Double(B * T * H)
                    }
                }
            }
        }
        #expect(abs(got - defined) <= 1e-5 * defined, "loss \(got), defined \(defined)")
    }
}
