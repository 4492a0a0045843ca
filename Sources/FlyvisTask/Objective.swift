import Foundation

/// Loss functions over (B, T, C, H) predictions and targets, with their gradients.
package enum Objective: String, Sendable, CaseIterable {
    /// flyvis's training loss: mean over samples of √(Σ over frames, channels, hexals of (ŷ−y)²).
    case l2norm
    /// Endpoint error: mean over (b, t, h) of √(Σ over channels of (ŷ−y)²).
    case epe

    /// Loss and ∂loss/∂prediction. `shape` is (B, T, C, H).
    package func evaluate(_ prediction: [Float], _ target: [Float], shape: [Int]) -> (loss: Double, gradient: [Float]) {
        precondition(prediction.count == target.count && shape.reduce(1, *) == prediction.count)
        var grad = [Float](repeating: 0, count: prediction.count)
        let loss = prediction.withUnsafeBufferPointer { p in
            target.withUnsafeBufferPointer { y in
                grad.withUnsafeMutableBufferPointer { sweep(p, y, shape: shape, gradient: $0.baseAddress) }
            }
        }
        return (loss, grad)
    }

    /// The loss alone (evaluation): `evaluate`'s sums in the same order, so the same value bit
    /// for bit, without the gradient's allocation and stores (a tenth of a checkpoint's
    /// validation).
    package func loss(_ prediction: UnsafeBufferPointer<Float>, _ target: UnsafeBufferPointer<Float>, shape: [Int]) -> Double {
        precondition(prediction.count == target.count && shape.reduce(1, *) == prediction.count)
        return sweep(prediction, target, shape: shape, gradient: nil)
    }

    /// The loss, and the gradient into `grad` unless it is nil.
    private func sweep(
        _ prediction: UnsafeBufferPointer<Float>, _ target: UnsafeBufferPointer<Float>, shape: [Int],
        gradient grad: UnsafeMutablePointer<Float>?
    ) -> Double {
        let (B, T, C, H) = (shape[0], shape[1], shape[2], shape[3])
        switch self {
        case .l2norm:
            let per = T * C * H
            var loss = 0.0
            for b in 0..<B {
                var s: Float = 0
                for i in (b * per)..<((b + 1) * per) { let d = prediction[i] - target[i]; s += d * d }
                let norm = s.squareRoot()
                loss += Double(norm)
                guard let grad else { continue }
                // ∂/∂ŷ = (ŷ − y) / (B · ‖·‖); zero where the norm is zero (torch's subgradient).
                let scale: Float = norm > 0 ? 1 / (Float(B) * norm) : 0
                for i in (b * per)..<((b + 1) * per) { grad[i] = (prediction[i] - target[i]) * scale }
            }
            return loss / Double(B)
        case .epe:
            var loss = 0.0
            let count = Float(B * T * H)
            for b in 0..<B {
                for t in 0..<T {
                    for h in 0..<H {
                        var s: Float = 0
                        for c in 0..<C { let i = ((b * T + t) * C + c) * H + h; let d = prediction[i] - target[i]; s += d * d }
                        let e = s.squareRoot()
                        loss += Double(e)
                        guard e > 0, let grad else { continue }
                        for c in 0..<C {
                            let i = ((b * T + t) * C + c) * H + h
                            grad[i] = (prediction[i] - target[i]) / (e * count)
                        }
                    }
                }
            }
            return loss / Double(count)
        }
    }

    /// Parses a loss name from the config, naming the allowed values on failure.
    package static func named(_ name: String, key: String) throws(TrainingConfigError) -> Objective {
        guard let o = Objective(rawValue: name) else {
            throw .invalidValue(key: key, value: name, allowed: allCases.map(\.rawValue).joined(separator: ", "))
        }
        return o
    }
}
