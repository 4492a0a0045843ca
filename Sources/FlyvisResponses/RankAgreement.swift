import FlyvisMPI

/// Makes every rank learn of a failure on any rank before the next collective call, so that a
/// damaged checkpoint or a full disk on one rank ends every rank with one clear line instead
/// of leaving the others waiting in a collective write.
package struct RankAgreement {
    package let communicator: Communicator

    package init(_ communicator: Communicator) { self.communicator = communicator }

    /// Throws on every rank if `local` failed on any rank: the lowest failing rank's error
    /// itself there, and on the others its message (so each rank's one line says what happened).
    package func check(_ local: (any Error)?) throws {
        let code = local == nil ? Int32.max : Int32(communicator.rank)
        let first = Int(try communicator.allreduce([code], .min)[0])
        guard first != Int(Int32.max) else { return }
        var message = local.map { "\($0)" } ?? ""
        try communicator.broadcast(&message, root: first)
        if first == communicator.rank, let local { throw local }
        throw ResponsesError.invalidParameter(first == communicator.rank ? message : "rank \(first): \(message)")
    }

    /// True on every rank when any rank asks to stop.
    package func anyRequests(_ stop: Bool) throws -> Bool {
        try communicator.allreduce([Int32(stop ? 1 : 0)], .max)[0] != 0
    }
}
