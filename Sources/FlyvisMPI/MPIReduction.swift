import CFlyvisShim
import COpenMPI

/// Reduction operators.
package enum MPIReduction: Sendable {
    case sum, min, max
    var handle: MPI_Op {
        switch self {
        case .sum: return fv_mpi_sum()
        case .min: return fv_mpi_min()
        case .max: return fv_mpi_max()
        }
    }
}
