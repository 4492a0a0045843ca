import Foundation

/// An exclusive `flock` on `<cache dir>.lock` while a rendering is made, waited for while
/// another process renders. Best effort: where the file system refuses locks, every process
/// renders (the cache file is still written atomically, so the result is the same). Shared by
/// the training data's and the analysis stimuli's render caches.
package final class RenderLock {
    private var fd: Int32 = -1
    /// True when another process held the lock first (so the cache may be ready now).
    package private(set) var waited = false
    /// True when a stop request ended the wait (the lock is not held).
    package private(set) var stopped = false

    /// Waits by polling, so that a stop request ends the wait (a blocking `flock` restarts
    /// after the signal handler and would wait for the whole rendering).
    package init(directory: URL, stop: () -> Bool = { false }) {
        try? FileManager.default.createDirectory(at: directory.deletingLastPathComponent(), withIntermediateDirectories: true)
        fd = open(directory.path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EAGAIN || errno == EINTR else { return }
            waited = true
            if stop() {
                stopped = true
                release()
                return
            }
            usleep(100_000)
        }
    }

    package func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }
}
