import FlyvisRandom
import Foundation

/// A loader: index order and batching as flyvis's DataLoaders (train_data shuffles each epoch
/// with the member's generator and drops the last incomplete batch).
package struct Loader: Sendable, Equatable {
    package var indices: [Int]
    package var batchSize: Int
    package var shuffle: Bool
    package var dropLast: Bool

    package init(indices: [Int], batchSize: Int, shuffle: Bool = false, dropLast: Bool = false) {
        self.indices = indices
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
    }

    /// Batches per epoch.
    package var count: Int { dropLast ? indices.count / batchSize : (indices.count + batchSize - 1) / batchSize }

    /// The batches of one epoch (a fresh permutation when shuffling).
    package func epoch(_ rng: inout RandomState) -> [[Int]] {
        var order = indices
        if shuffle {
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.uniform() * Double(i + 1))) }
        }
        var out: [[Int]] = []
        var i = 0
        while i < order.count {
            let b = Array(order[i..<min(i + batchSize, order.count)])
            if b.count == batchSize || !dropLast { out.append(b) }
            i += batchSize
        }
        return out
    }
}

extension MultiTaskDataset {
    /// Samples and stacks a batch (all samples must have the same length).
    package func batch(_ indices: [Int], augment: Bool, rng: inout RandomState) -> Batch {
        let samples = indices.map { sample($0, augment: augment, rng: &rng) }
        var targets: [String: [Float]] = [:]
        for t in targetTasks { targets[t] = samples.flatMap { $0.targets[t]! } }
        return Batch(lum: samples.flatMap(\.lum), targets: targets, batchSize: indices.count, frames: samples[0].frames)
    }
}
