import CFlyvisShim
import CHDF5
import FlyvisMPI

#if canImport(Glibc)
import Glibc
#endif

/// The HDF5 library shipped with Debian's MPI build is not thread-safe, so every call into it
/// goes through this one recursive lock (recursive because package methods call each other).
final class HDF5Lock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() {
        var attr = pthread_mutexattr_t()
        pthread_mutexattr_init(&attr)
        pthread_mutexattr_settype(&attr, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(&mutex, &attr)
        pthread_mutexattr_destroy(&attr)
    }
    func lock() { pthread_mutex_lock(&mutex) }
    func unlock() { pthread_mutex_unlock(&mutex) }
}
