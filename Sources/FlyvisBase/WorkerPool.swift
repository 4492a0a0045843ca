import Foundation
import Synchronization

/// Runs `body(part)` for part in 0..<parts, on worker threads when parts > 1. Shared by the
/// network engine and the decoder's kernels, whose parts are fixed ranges of work, so the
/// results do not depend on which thread runs which part.
package func parallel(_ parts: Int, _ body: (Int) -> Void) {
    if parts <= 1 {
        body(0)
    } else {
        WorkerPool.shared.run(parts: parts, body)
    }
}

/// Persistent worker threads for the per-time-step parallel loops. A time step takes well
/// under a millisecond, so waking threads through the system for each of its parallel loops
/// costs too much (a wake-up is an inter-processor interrupt in a VM), and
/// `DispatchQueue.concurrentPerform` was seen to run the parts one after another at times.
/// Workers spin on a generation counter for about a millisecond after each run, then sleep
/// in short steps.
///
/// One caller at a time: a second, concurrent or nested caller runs its parts inline, which
/// gives the same results.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    private let busy = Mutex(false)
    /// sequence · 256 + parts of the latest run: one atomic word, so that a worker reads the
    /// run and its part count together.
    private let generation = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    private var workers = 0
    /// Written by the caller before the generation is published (release) and read only by
    /// the run's participants after they observe it (acquire); the caller waits for all of
    /// them before the next run may overwrite it.
    private var job: UnsafeSendable<(Int) -> Void>?
    static let maxParts = 255

    func run(parts n: Int, _ body: (Int) -> Void) {
        let acquired = busy.withLock { taken -> Bool in
            if taken { return false }
            taken = true
            return true
        }
        guard acquired, n <= Self.maxParts else {
            for k in 0..<n { body(k) }
            return
        }
        defer { busy.withLock { $0 = false } }
        while workers < n - 1 {
            workers += 1
            // The worker may start after the next run is published, so it is told which
            // generation it has already seen rather than reading it itself.
            let part = workers, seen = generation.load(ordering: .relaxed)
            let thread = Thread { [self] in workerLoop(part: part, seen: seen) }
            thread.stackSize = 1 << 20
            thread.start()
        }
        withoutActuallyEscaping(body) { body in
            job = UnsafeSendable(body)
            remaining.store(n - 1, ordering: .relaxed)
            let sequence = generation.load(ordering: .relaxed) >> 8
            generation.store((sequence + 1) << 8 | n, ordering: .releasing)
            body(0)
            while remaining.load(ordering: .acquiring) > 0 {}
            job = nil
        }
    }

    private func workerLoop(part: Int, seen initial: Int) {
        var seen = initial
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen {
                spins += 1
                if spins > 400_000 { usleep(50) }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            guard part < current & 0xFF else { continue }  // not in this run
            job!.value(part)
            remaining.subtract(1, ordering: .releasing)
        }
    }
}

/// Hands the caller's closure to the workers, which only run disjoint parts of it.
private struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
