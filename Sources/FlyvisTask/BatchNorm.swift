import FlyvisBase
import FlyvisHex
import FlyvisNetwork
import FlyvisRandom
import Foundation

/// BatchNorm2d (eps 1e-5, momentum 0.1) with PyTorch's train/eval semantics.
final class BatchNorm {
    let channels: Int
    var weight: [Float], bias: [Float]
    var runningMean: [Float], runningVar: [Float]
    var batchesTracked: Int64 = 0
    var gradWeight: [Float], gradBias: [Float]
    // Saved for backward.
    var mean: [Float] = [], invStd: [Float] = []
    let eps: Float = 1e-5, momentum: Float = 0.1

    init(channels: Int) {
        self.channels = channels
        weight = [Float](repeating: 1, count: channels)
        bias = [Float](repeating: 0, count: channels)
        runningMean = [Float](repeating: 0, count: channels)
        runningVar = [Float](repeating: 1, count: channels)
        gradWeight = [Float](repeating: 0, count: channels)
        gradBias = [Float](repeating: 0, count: channels)
    }
}
