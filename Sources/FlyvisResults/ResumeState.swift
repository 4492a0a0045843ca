import Foundation

/// What flyvis-swift adds to a checkpoint so that a resumed run continues bit for bit: the
/// member's generator states, the epoch counter and the training time. Stored under one extra
/// key, which flyvis ignores; a flyvis checkpoint has none, and resume then starts fresh
/// generators.
package struct ResumeState: Sendable, Equatable {
    package var dataRNG: [UInt64]
    package var dropoutRNG: [String: [UInt64]]
    package var epochsDone: Int
    package var timeTrained: Double

    package init(dataRNG: [UInt64], dropoutRNG: [String: [UInt64]], epochsDone: Int, timeTrained: Double) {
        self.dataRNG = dataRNG
        self.dropoutRNG = dropoutRNG
        self.epochsDone = epochsDone
        self.timeTrained = timeTrained
    }
}
