import FlyvisHDF5
import FlyvisHex
import Foundation

/// An exclusive, blocking `flock` on `<cache directory>.lock` while frames are rendered. Best
/// effort: where the file system refuses locks every process renders, and the atomic rename
/// still leaves one complete file.
final class CacheLock {
    private var fd: Int32 = -1
    /// True when another process held the lock first (so the file may be ready now).
    private(set) var waited = false

    init(directory: URL) {
        try? FileManager.default.createDirectory(at: directory.deletingLastPathComponent(), withIntermediateDirectories: true)
        fd = open(directory.path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            waited = true
            while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
        }
    }

    func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }
}
