import Dispatch
import FlyvisData
import FlyvisRandom

/// Prepares the next training batch (sampling, augmentation, resampling) on a helper thread
/// while the current iteration runs, so that data preparation leaves the critical path.
///
/// The result is bit for bit that of preparing the batches in turn: one batch is in flight at
/// a time, it starts from the data generator's state after the previous batch, and the
/// generator's state after it comes back with it (`take`), so the solver's `dataRNG` — and
/// with it every checkpoint's resume state — follows exactly the same sequence of draws.
/// Only a value copy of the dataset crosses the thread boundary.
final class BatchPrefetcher: @unchecked Sendable {
    private let queue = DispatchQueue(label: "flyvis.batch-prefetch", qos: .userInitiated)
    private let ready = DispatchSemaphore(value: 0)
    /// Written by the helper before `ready.signal()`, read after `ready.wait()`: the
    /// semaphore orders the accesses.
    private var result: (batch: Batch, rng: RandomState, seconds: Double)?
    private var inFlight = false

    /// Starts preparing the batch of `indices` from generator state `rng`.
    func start(_ dataset: MultiTaskDataset, _ indices: [Int], augment: Bool, rng: RandomState) {
        precondition(!inFlight, "one batch in flight at a time")
        inFlight = true
        queue.async { [self] in
            let t0 = DispatchTime.now().uptimeNanoseconds
            var r = rng
            let b = dataset.batch(indices, augment: augment, rng: &r)
            result = (b, r, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            ready.signal()
        }
    }

    /// The prepared batch, the generator state after it and the helper's time on it; waits
    /// while it is not ready yet.
    func take() -> (batch: Batch, rng: RandomState, seconds: Double) {
        precondition(inFlight, "take() without start()")
        ready.wait()
        inFlight = false
        defer { result = nil }
        return result!
    }

    /// Waits for a batch still in flight and drops it (an iteration threw).
    func drain() {
        if inFlight { _ = take() }
    }
}
