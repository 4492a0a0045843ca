import CFlyvisShim
import COpenMPI

/// A communicator. Handles are plain values owned by the MPI library; the world communicator
/// lives until finalisation.
package struct Communicator: @unchecked Sendable {
    @usableFromInline let handle: MPI_Comm
    package let rank: Int
    package let size: Int

    package static let anySource = Int(fv_mpi_any_source())
    package static let anyTag = Int(fv_mpi_any_tag())

    /// MPI_COMM_WORLD.
    package static func world() throws(MPIError) -> Communicator {
        guard MPI.isInitialized else { throw .notInitialized }
        return try Communicator(handle: fv_mpi_comm_world())
    }

    init(handle: MPI_Comm) throws(MPIError) {
        self.handle = handle
        var r: Int32 = 0, s: Int32 = 0
        try check(MPI_Comm_rank(handle, &r), "MPI_Comm_rank")
        try check(MPI_Comm_size(handle, &s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)
    }

    package var isRoot: Bool { rank == 0 }

    /// Exposes the raw handle to sibling wrapper layers (parallel HDF5 needs it for MPI-IO).
    package var rawHandle: MPI_Comm { handle }

    // MARK: Collectives

    package func barrier() throws(MPIError) {
        try check(MPI_Barrier(handle), "MPI_Barrier")
    }

    /// Broadcasts `values` from `root`; on other ranks the array is replaced. The count is
    /// broadcast first, so receivers need not know it.
    package func broadcast<T: MPIScalar>(_ values: inout [T], root: Int = 0) throws(MPIError) {
        var count = Int64(values.count)
        try check(MPI_Bcast(&count, 1, Int64.mpiDatatype, Int32(root), handle), "MPI_Bcast")
        if rank != root { values = [T](repeating: zero(T.self), count: Int(count)) }
        guard count > 0 else { return }
        let code = values.withUnsafeMutableBytes { buf in
            MPI_Bcast(buf.baseAddress, Int32(count), T.mpiDatatype, Int32(root), handle)
        }
        try check(code, "MPI_Bcast")
    }

    /// Broadcasts a string (UTF-8) from `root`.
    package func broadcast(_ text: inout String, root: Int = 0) throws(MPIError) {
        var bytes = Array(text.utf8)
        try broadcast(&bytes, root: root)
        text = String(decoding: bytes, as: UTF8.self)
    }

    /// Element-wise reduction across ranks; every rank receives the result.
    package func allreduce<T: MPIScalar>(_ values: [T], _ op: MPIReduction) throws(MPIError) -> [T] {
        var result = values
        let code = values.withUnsafeBytes { src in
            result.withUnsafeMutableBytes { dst in
                MPI_Allreduce(
                    src.baseAddress, dst.baseAddress, Int32(values.count),
                    T.mpiDatatype, op.handle, handle)
            }
        }
        try check(code, "MPI_Allreduce")
        return result
    }

    /// Concatenates equal-length contributions in rank order on `root` (empty elsewhere).
    package func gather<T: MPIScalar>(_ values: [T], root: Int = 0) throws(MPIError) -> [T] {
        var result = rank == root ? [T](repeating: zero(T.self), count: values.count * size) : []
        let code = values.withUnsafeBytes { src in
            result.withUnsafeMutableBytes { dst in
                MPI_Gather(
                    src.baseAddress, Int32(values.count), T.mpiDatatype,
                    dst.baseAddress, Int32(values.count), T.mpiDatatype, Int32(root), handle)
            }
        }
        try check(code, "MPI_Gather")
        return result
    }

    /// Concatenates equal-length contributions in rank order on every rank.
    package func allgather<T: MPIScalar>(_ values: [T]) throws(MPIError) -> [T] {
        var result = [T](repeating: zero(T.self), count: values.count * size)
        let code = values.withUnsafeBytes { src in
            result.withUnsafeMutableBytes { dst in
                MPI_Allgather(
                    src.baseAddress, Int32(values.count), T.mpiDatatype,
                    dst.baseAddress, Int32(values.count), T.mpiDatatype, handle)
            }
        }
        try check(code, "MPI_Allgather")
        return result
    }

    // MARK: Point to point

    package func send<T: MPIScalar>(_ values: [T], to dest: Int, tag: Int) throws(MPIError) {
        let code = values.withUnsafeBytes { buf in
            MPI_Send(buf.baseAddress, Int32(values.count), T.mpiDatatype, Int32(dest), Int32(tag), handle)
        }
        try check(code, "MPI_Send")
    }

    /// Receives exactly `count` elements (fewer if the sender sent fewer; the array is trimmed).
    package func receive<T: MPIScalar>(
        _ type: T.Type = T.self, count: Int, from source: Int = anySource,
        tag: Int = anyTag
    ) throws(MPIError) -> (values: [T], source: Int, tag: Int) {
        var values = [T](repeating: zero(T.self), count: count)
        var status = MPI_Status()
        let code = values.withUnsafeMutableBytes { buf in
            MPI_Recv(buf.baseAddress, Int32(count), T.mpiDatatype, Int32(source), Int32(tag), handle, &status)
        }
        try check(code, "MPI_Recv")
        var received: Int32 = 0
        MPI_Get_count(&status, T.mpiDatatype, &received)
        if Int(received) < count { values.removeLast(count - Int(received)) }
        return (values, Int(fv_mpi_status_source(&status)), Int(fv_mpi_status_tag(&status)))
    }

    /// Sends a small byte message (e.g. a JSON-encoded progress report).
    package func sendBytes(_ bytes: [UInt8], to dest: Int, tag: Int) throws(MPIError) {
        try send(bytes, to: dest, tag: tag)
    }

    /// Receives a byte message of any length: probes for its size first.
    package func receiveBytes(
        from source: Int = anySource, tag: Int = anyTag
    )
        throws(MPIError) -> (bytes: [UInt8], source: Int, tag: Int)
    {
        let info = try probe(UInt8.self, from: source, tag: tag)
        let message = try receive(UInt8.self, count: info.count, from: info.source, tag: info.tag)
        return (message.values, message.source, message.tag)
    }

    /// Blocks until a matching message is available and describes it.
    package func probe<T: MPIScalar>(
        _ type: T.Type = UInt8.self, from source: Int = anySource,
        tag: Int = anyTag
    ) throws(MPIError) -> MessageInfo {
        var status = MPI_Status()
        try check(MPI_Probe(Int32(source), Int32(tag), handle, &status), "MPI_Probe")
        return info(status: &status, T.self)
    }

    /// Describes a matching message if one is waiting, without blocking.
    package func iprobe<T: MPIScalar>(
        _ type: T.Type = UInt8.self, from source: Int = anySource,
        tag: Int = anyTag
    ) throws(MPIError) -> MessageInfo? {
        var status = MPI_Status()
        var flag: Int32 = 0
        try check(MPI_Iprobe(Int32(source), Int32(tag), handle, &flag, &status), "MPI_Iprobe")
        return flag != 0 ? info(status: &status, T.self) : nil
    }

    private func info<T: MPIScalar>(status: inout MPI_Status, _: T.Type) -> MessageInfo {
        var count: Int32 = 0
        MPI_Get_count(&status, T.mpiDatatype, &count)
        return MessageInfo(
            source: Int(fv_mpi_status_source(&status)),
            tag: Int(fv_mpi_status_tag(&status)), count: Int(count))
    }

    /// Starts a non-blocking send. The data is copied, so the caller's array may change.
    package func isend<T: MPIScalar>(_ values: [T], to dest: Int, tag: Int) throws(MPIError) -> Request<T> {
        let request = Request<T>(count: values.count)
        values.withUnsafeBytes { src in
            if let base = src.baseAddress { request.storage.copyMemory(from: base, byteCount: src.count) }
        }
        try check(
            MPI_Isend(
                request.storage, Int32(values.count), T.mpiDatatype, Int32(dest),
                Int32(tag), handle, &request.handle), "MPI_Isend")
        return request
    }

    /// Starts a non-blocking receive of up to `count` elements; read them from `wait()`/`test()`.
    package func ireceive<T: MPIScalar>(
        _ type: T.Type = T.self, count: Int, from source: Int = anySource,
        tag: Int = anyTag
    ) throws(MPIError) -> Request<T> {
        let request = Request<T>(count: count)
        try check(
            MPI_Irecv(
                request.storage, Int32(count), T.mpiDatatype, Int32(source),
                Int32(tag), handle, &request.handle), "MPI_Irecv")
        return request
    }

    /// Terminates every process of the job. Use only when continuing would corrupt results.
    package func abort(code: Int32 = 1) -> Never {
        MPI_Abort(handle, code)
        fatalError("MPI_Abort returned")
    }
}
