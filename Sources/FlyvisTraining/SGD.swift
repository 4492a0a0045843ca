import FlyvisTask
import Foundation

/// SGD with PyTorch's semantics: weight decay, momentum with dampening (first step stores the
/// gradient as the buffer), Nesterov.
package struct SGD<Key: Hashable & Sendable>: Sendable, Equatable {
    package var learningRate: Double
    package var momentum: Double, dampening: Double, weightDecay: Double
    package var nesterov: Bool
    package private(set) var buffers: [Key: [Float]] = [:]

    package init(
        learningRate: Double, momentum: Double = 0, dampening: Double = 0, weightDecay: Double = 0,
        nesterov: Bool = false
    ) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    package mutating func step(_ name: Key, _ param: inout [Float], _ grad: [Float]) {
        precondition(param.count == grad.count)
        let lr = Float(learningRate), wd = Float(weightDecay), mom = Float(momentum), damp = Float(dampening)
        var d = grad
        if wd != 0 { for i in d.indices { d[i] += wd * param[i] } }
        if mom != 0 {
            if var buf = buffers[name] {
                for i in buf.indices { buf[i] = buf[i] * mom + (1 - damp) * d[i] }
                buffers[name] = buf
            } else {
                buffers[name] = d
            }
            let buf = buffers[name]!
            if nesterov { for i in d.indices { d[i] += mom * buf[i] } } else { d = buf }
        }
        for i in param.indices { param[i] -= lr * d[i] }
    }

}
