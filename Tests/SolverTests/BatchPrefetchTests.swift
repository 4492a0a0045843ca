import FlyvisData
import FlyvisRandom
import Foundation
import Testing

@testable import FlyvisSolver

/// The next batch is prepared on a helper thread; the batches and the data generator's draws
/// must be exactly those of preparing them one after another.
@Suite(.serialized) struct BatchPrefetchTests {
    @Test func prefetchedBatchesEqualSequentialOnes() throws {
        let s = try Small.solver("0120/000", ["task.n_iters=4"])
        let dataset = s.task.dataset
        var sequential = RandomState(seed: 7), prefetched = sequential
        let batches = s.task.trainLoader.epoch(&sequential)
        _ = s.task.trainLoader.epoch(&prefetched)
        try #require(batches.count >= 2, "an epoch of several batches")
        let prefetcher = BatchPrefetcher()
        prefetcher.start(dataset, batches[0], augment: true, rng: prefetched)
        for (k, indices) in batches.enumerated() {
            let p = prefetcher.take()
            if k + 1 < batches.count { prefetcher.start(dataset, batches[k + 1], augment: true, rng: p.rng) }
            let b = dataset.batch(indices, augment: true, rng: &sequential)
            #expect(p.rng == sequential, "generator state after batch \(k)")
            #expect(p.batch.lum.count == b.lum.count && !b.lum.isEmpty)
            #expect(p.batch.lum.elementsEqual(b.lum) { $0.bitPattern == $1.bitPattern }, "batch \(k) luminance")
            #expect(p.batch.targets.keys.sorted() == b.targets.keys.sorted())
            for (task, t) in b.targets {
                #expect(p.batch.targets[task]!.elementsEqual(t) { $0.bitPattern == $1.bitPattern }, "batch \(k) \(task)")
            }
            prefetched = p.rng
        }
    }

    /// Training leaves the data generator where preparing every epoch's batches in turn does
    /// (so checkpoints store the same resume state as without prefetching).
    @Test func trainingDrawsTheSequentialDataStream() throws {
        let s = try Small.solver("0120/001", ["task.n_iters=25", "scheduler.chkpt_every_epoch=100"])
        var replay = s.dataRNG
        try s.train()
        let loader = s.task.trainLoader
        let epochs = Int((25.0 / Double(loader.count)).rounded(.up))
        try #require(epochs >= 2, "more than one epoch (\(loader.count) batches per epoch)")
        for _ in 0..<epochs {
            for indices in loader.epoch(&replay) {
                _ = s.task.dataset.batch(indices, augment: s.task.dataset.config.augment, rng: &replay)
            }
        }
        #expect(s.dataRNG == replay)
    }
}
