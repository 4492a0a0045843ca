import CFlyvisShim
import COpenMPI

/// A pending non-blocking operation. It owns its message buffer, so the buffer outlives the
/// operation no matter what the caller does with its own arrays.
package final class Request<T: MPIScalar>: @unchecked Sendable {
    var handle: MPI_Request? = fv_mpi_request_null()
    let storage: UnsafeMutableRawPointer
    let capacity: Int
    package private(set) var isComplete = false
    private var received: [T] = []
    package private(set) var source: Int = -1
    package private(set) var tag: Int = -1

    init(count: Int) {
        capacity = count
        storage = UnsafeMutableRawPointer.allocate(
            byteCount: max(1, count * MemoryLayout<T>.stride), alignment: MemoryLayout<T>.alignment)
    }

    deinit {
        if !isComplete { MPI_Cancel(&handle); MPI_Request_free(&handle) }
        storage.deallocate()
    }

    /// Completes the operation if it has finished; returns whether it has.
    package func test() throws(MPIError) -> Bool {
        if isComplete { return true }
        var flag: Int32 = 0
        var status = MPI_Status()
        try check(MPI_Test(&handle, &flag, &status), "MPI_Test")
        if flag != 0 { finish(&status) }
        return isComplete
    }

    /// Blocks until the operation finishes; returns the received values (the sent ones for sends).
    @discardableResult
    package func wait() throws(MPIError) -> [T] {
        if !isComplete {
            var status = MPI_Status()
            try check(MPI_Wait(&handle, &status), "MPI_Wait")
            finish(&status)
        }
        return received
    }

    /// The values, once complete.
    package var values: [T] { received }

    private func finish(_ status: inout MPI_Status) {
        isComplete = true
        var count: Int32 = Int32(capacity)
        var c: Int32 = 0
        if MPI_Get_count(&status, T.mpiDatatype, &c) == fv_mpi_success(), c >= 0, c <= count { count = c }
        source = Int(fv_mpi_status_source(&status))
        tag = Int(fv_mpi_status_tag(&status))
        let typed = storage.bindMemory(to: T.self, capacity: capacity)
        received = Array(UnsafeBufferPointer(start: typed, count: Int(count)))
    }
}
