import FlyvisRandom
import FlyvisTask
import Testing

/// Evaluation takes the loss without its gradient; it must be bit for bit the training loss.
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
    }
}
