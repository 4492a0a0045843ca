import CFlyvisShim
import COpenMPI

/// Scalar types with a matching MPI datatype.
package protocol MPIScalar: Sendable {
    static var mpiDatatype: MPI_Datatype { get }
}

extension Float: MPIScalar { package static var mpiDatatype: MPI_Datatype { fv_mpi_float() } }

extension Double: MPIScalar { package static var mpiDatatype: MPI_Datatype { fv_mpi_double() } }

extension Int32: MPIScalar { package static var mpiDatatype: MPI_Datatype { fv_mpi_int32() } }

extension Int64: MPIScalar { package static var mpiDatatype: MPI_Datatype { fv_mpi_int64() } }

extension UInt8: MPIScalar { package static var mpiDatatype: MPI_Datatype { fv_mpi_uint8() } }

/// A zero value of an MPI element type (for buffers to receive into).
func zero<T: MPIScalar>(_: T.Type) -> T {
    withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { buf in
        UnsafeMutableRawPointer(buf.baseAddress!).initializeMemory(
            as: UInt8.self, repeating: 0,
            count: MemoryLayout<T>.stride)
        return buf[0]
    }
}
