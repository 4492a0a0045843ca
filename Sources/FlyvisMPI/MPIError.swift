import CFlyvisShim
import COpenMPI

/// An MPI failure, carrying the library's own error string so users see what MPI said.
package enum MPIError: Error, CustomStringConvertible, Equatable {
    case call(function: String, code: Int32, message: String)
    case notInitialized
    case invalidArgument(String)

    package var description: String {
        switch self {
        case let .call(function, code, message):
            return "MPI error in \(function) (code \(code)): \(message)"
        case .notInitialized:
            return "MPI is not initialised: call MPI.initialize() before using a communicator"
        case let .invalidArgument(why):
            return "invalid MPI argument: \(why)"
        }
    }
}
