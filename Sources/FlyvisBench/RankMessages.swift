import Foundation
import Synchronization

/// What the children of one `bench --concurrent` phase have written, in arrival order: the
/// reader thread of each child's stdout posts here and the parent takes one at a time.
package final class RankMessages: Sendable {
    package enum Message: Sendable, Equatable {
        case line(rank: Int, text: String)
        /// The child closed its stdout (it has exited or is exiting).
        case closed(rank: Int)
    }

    private let queue = Mutex<[Message]>([])
    private let available = DispatchSemaphore(value: 0)

    package init() {}

    package func post(_ message: Message) {
        queue.withLock { $0.append(message) }
        available.signal()
    }

    /// The oldest message, waiting for one.
    package func next() -> Message {
        available.wait()
        return queue.withLock { $0.removeFirst() }
    }
}
