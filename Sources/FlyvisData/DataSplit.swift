import FlyvisRandom
import Foundation

/// Train/validation splits as flyvis makes them.
package enum DataSplit {
    package static let validationScenes = ["ambush_2", "bamboo_1", "bandage_1", "cave_4", "market_2", "mountain_1"]
    package static let trainingScenes = [
        "alley_1", "alley_2", "ambush_4", "ambush_5", "ambush_6", "ambush_7", "bamboo_2",
        "bandage_2", "cave_2", "market_5", "market_6", "shaman_2", "shaman_3",
        "sleeping_1", "sleeping_2", "temple_2", "temple_3",
    ]

    /// The original split by scene name (substring match). flyvis then drops validation
    /// indices 37 and 38 (two cave_4 splits); it crashes when they are absent, we only drop
    /// them when present.
    package static func original(names: [String]) -> (train: [Int], validation: [Int]) {
        // The built-in synthetic set names its own split (synth_train_NN / synth_val_NN).
        let train = names.indices.filter { i in (trainingScenes + ["synth_train_"]).contains { names[i].contains($0) } }
        var val = names.indices.filter { i in (validationScenes + ["synth_val_"]).contains { names[i].contains($0) } }
        val.removeAll { $0 == 37 || $0 == 38 }
        return (train, val)
    }

    /// k-fold split: indices 0..<n, shuffled by `seed` (a seeded Fisher–Yates; flyvis's call
    /// passes the seed as the shuffle flag by mistake, so seed 0 means unshuffled there),
    /// contiguous folds, the first n % folds folds one larger; fold `fold` is validation.
    package static func crossValidation(
        count n: Int, folds: Int, fold: Int, seed: Int
    ) throws(DataError) -> (train: [Int], validation: [Int]) {
        guard folds >= 2, folds <= max(n, 2), (0..<folds).contains(fold) else {
            throw .invalidConfig(
                key: "n_folds/fold",
                problem: "need 2 ≤ n_folds ≤ \(max(n, 2)) sequences and 0 ≤ fold < n_folds (got \(folds), \(fold))")
        }
        var idx = Array(0..<n)
        if seed != 0 {
            // Any integer seeds (a negative one by its two's-complement bits).
            var rng = RandomState(seed: UInt64(bitPattern: Int64(seed)))
            for i in stride(from: n - 1, to: 0, by: -1) { idx.swapAt(i, Int(rng.uniform() * Double(i + 1))) }
        }
        var start = 0
        var folded: [[Int]] = []
        for k in 0..<folds {
            let size = n / folds + (k < n % folds ? 1 : 0)
            folded.append(Array(idx[start..<(start + size)]))
            start += size
        }
        let val = folded[fold]
        return (idx.filter { !val.contains($0) }, val)
    }
}
