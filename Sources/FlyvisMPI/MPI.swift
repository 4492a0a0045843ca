import CFlyvisShim
import COpenMPI

/// Turns an MPI return code into a Swift error with MPI's own message.
@usableFromInline
func check(_ code: Int32, _ function: String) throws(MPIError) {
    guard code != fv_mpi_success() else { return }
    var buffer = [CChar](repeating: 0, count: Int(fv_mpi_max_error_string()) + 1)
    var length: Int32 = 0
    MPI_Error_string(code, &buffer, &length)
    let message = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    throw MPIError.call(function: function, code: code, message: message)
}

/// Process-wide MPI lifecycle. MPI may be initialised and finalised exactly once per process,
/// so the state lives here rather than in any object.
package enum MPI {
    /// Initialises MPI once (later calls return the same world communicator). Works both under
    /// `mpirun`/`srun` and as a singleton started directly from a shell.
    @discardableResult
    package static func initialize() throws(MPIError) -> Communicator {
        var flag: Int32 = 0
        MPI_Initialized(&flag)
        if flag == 0 {
            var provided: Int32 = 0
            try check(MPI_Init_thread(nil, nil, fv_mpi_thread_funneled(), &provided), "MPI_Init_thread")
        }
        // Errors come back as codes (and then Swift errors) instead of aborting the job.
        MPI_Comm_set_errhandler(fv_mpi_comm_world(), fv_mpi_errors_return())
        return try Communicator.world()
    }

    /// Whether MPI_Init has run and MPI_Finalize has not.
    package static var isInitialized: Bool {
        var initialized: Int32 = 0, finalized: Int32 = 0
        MPI_Initialized(&initialized)
        MPI_Finalized(&finalized)
        return initialized != 0 && finalized == 0
    }

    /// Finalises MPI if it is running; safe to call more than once.
    package static func finalize() {
        if isInitialized { MPI_Finalize() }
    }

    /// The MPI library's version string (e.g. "Open MPI v4.1.4 ...").
    package static var libraryVersion: String {
        var buffer = [CChar](repeating: 0, count: Int(fv_mpi_max_library_version_string()) + 1)
        var length: Int32 = 0
        MPI_Get_library_version(&buffer, &length)
        let bytes = buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
            .trimmingCharacters(in: { $0 == "\n" || $0 == "\0" || $0 == " " })
    }

    /// Seconds since an arbitrary point, from MPI_Wtime.
    package static var wallTime: Double { MPI_Wtime() }
}

extension String {
    fileprivate func trimmingCharacters(in predicate: (Character) -> Bool) -> String {
        var s = Substring(self)
        while let f = s.first, predicate(f) { s.removeFirst() }
        while let l = s.last, predicate(l) { s.removeLast() }
        return String(s)
    }
}
