import CFlyvisShim
import COpenMPI

/// Information about a message waiting to be received.
package struct MessageInfo: Sendable, Equatable {
    package let source: Int
    package let tag: Int
    /// Element count in units of the datatype it was probed with (bytes for byte messages).
    package let count: Int
}
