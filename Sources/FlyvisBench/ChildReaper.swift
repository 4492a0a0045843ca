import Foundation
import Synchronization

/// The live child processes of `bench --concurrent`, so that none outlives its parent: on
/// SIGINT or SIGTERM the parent kills every registered child and exits (Foundation's Process
/// starts each child in a process group of its own, so a terminal's Ctrl-C reaches only the
/// parent), and on any error the benchmark kills its children itself.
///
/// The signal handler reads the pids from a fixed table of atomics (no lock: it may interrupt
/// the thread that holds one). Handlers, unlike ignored dispositions, are reset by exec, so
/// the children start with the default actions.
package enum ChildReaper {
    /// More children than any node has cores.
    package static let capacity = 1024
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<Atomic<pid_t>> = {
        let p = UnsafeMutablePointer<Atomic<pid_t>>.allocate(capacity: capacity)
        for i in 0..<capacity { (p + i).initialize(to: Atomic(0)) }
        return p
    }()

    private struct Installed {
        var users = 0
        var previous: [Int32: (@convention(c) (Int32) -> Void)?] = [:]
    }

    private static let installed = Mutex(Installed())

    /// Remembers a child's pid; false when the table is full.
    @discardableResult
    package static func register(_ pid: pid_t) -> Bool {
        for i in 0..<capacity where slots[i].compareExchange(expected: 0, desired: pid, ordering: .sequentiallyConsistent).exchanged {
            return true
        }
        return false
    }

    /// Forgets a child that has exited (its pid may be reused).
    package static func forget(_ pid: pid_t) {
        for i in 0..<capacity { _ = slots[i].compareExchange(expected: pid, desired: 0, ordering: .sequentiallyConsistent) }
    }

    /// SIGKILL to every registered child: a benchmark child has nothing to save.
    package static func killAll() {
        for i in 0..<capacity {
            let pid = slots[i].load(ordering: .sequentiallyConsistent)
            if pid > 0 { kill(pid, SIGKILL) }
        }
    }

    /// From now until the matching `uninstall`: SIGINT and SIGTERM kill the children and exit
    /// with 128 + the signal; SIGPIPE is caught and dropped, so that writing to a child that
    /// died is an error the benchmark reports rather than the parent's death.
    package static func install() {
        _ = slots  // initialised here, never first inside a handler
        installed.withLock { s in
            s.users += 1
            guard s.users == 1 else { return }
            s.previous[SIGPIPE] = signal(SIGPIPE) { _ in }
            for number in [SIGINT, SIGTERM] {
                s.previous[number] = signal(number) { received in
                    ChildReaper.killAll()
                    let message: StaticString = "bench: interrupted; its child processes were killed\n"
                    _ = Foundation.write(STDERR_FILENO, message.utf8Start, message.utf8CodeUnitCount)
                    _exit(128 + received)
                }
            }
            // A launcher may start us with these signals blocked (the mask survives exec).
            unblock([SIGINT, SIGTERM])
        }
    }

    /// Unblocks `signals` in the calling thread (and the children it starts from now on).
    package static func unblock(_ signals: [Int32]) {
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Restores the dispositions `install` replaced, once its last user is done.
    package static func uninstall() {
        installed.withLock { s in
            s.users -= 1
            guard s.users == 0 else { return }
            for (number, handler) in s.previous { signal(number, handler ?? SIG_DFL) }
            s.previous.removeAll()
        }
    }
}
