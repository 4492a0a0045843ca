import Dispatch
import FlyvisData
import FlyvisRandom

/// Where `train()`'s wall time goes, logged when training ends.
struct TrainingTimes {
    /// Waiting for the next batch on the training thread (0 when prefetching keeps up).
    var dataWait = 0.0
    /// The helper thread's time preparing batches (overlapped with the iterations).
    var dataPrepared = 0.0
    var steadyState = 0.0
    var steps = 0.0
    /// Validation on the four splits and the checkpoint writes.
    var checkpoints = 0.0

    func summary(iterations: Int, wall: Double) -> String {
        func share(_ x: Double) -> String { String(format: "%.0f%%", 100 * x / max(wall, 1e-9)) }
        return String(format: "%d iterations in %.1f s (%.3f s/it): ", iterations, wall, wall / Double(max(iterations, 1)))
            + "training steps \(share(steps)), steady states \(share(steadyState)), checkpoints \(share(checkpoints)), "
            + "waiting for data \(share(dataWait)) (batches prepared alongside: \(String(format: "%.1f s", dataPrepared)))"
    }
}

/// Seconds since `start` (a `DispatchTime` uptime in nanoseconds).
func seconds(since start: UInt64) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
