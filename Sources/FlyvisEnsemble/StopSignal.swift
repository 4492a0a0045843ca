import FlyvisHDF5
import FlyvisMPI
import FlyvisResults
import Foundation
import Synchronization

/// Set from signal handlers (SIGTERM, SIGUSR1), read between training iterations.
package enum StopSignal {
    static let flag = Atomic<Int32>(0)

    package static var isSet: Bool { flag.load(ordering: .relaxed) != 0 }
    package static var signalNumber: Int32 { flag.load(ordering: .relaxed) }
    package static func request(_ signal: Int32 = SIGTERM) { flag.store(signal, ordering: .relaxed) }

    /// SLURM sends SIGUSR1 (`--signal`) before the time limit and SIGTERM on preemption or
    /// scancel; both mean: finish the iteration, checkpoint, exit so a requeue can resume.
    package static func installHandlers() {
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGTERM, SIGUSR1, SIGINT] {
            signal(s) { received in StopSignal.flag.store(received, ordering: .relaxed) }
            sigaddset(&set, s)
        }
        // A launcher may start us with these signals blocked (a blocked mask is inherited
        // across exec); a stop request must still arrive.
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}
