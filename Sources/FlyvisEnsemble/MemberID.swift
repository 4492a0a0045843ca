import FlyvisRandom
import FlyvisResults
import FlyvisSolver
import Foundation

/// One ensemble member: the network `<task>/<EEEE>/<NNN>` in flyvis's naming.
package struct MemberID: Hashable, Sendable, Codable, Comparable {
    package let ensembleID: Int
    package let member: Int

    package init(ensembleID: Int, member: Int) {
        self.ensembleID = ensembleID
        self.member = member
    }

    /// flyvis's `ensemble_and_network_id`, e.g. "0045/003".
    package var name: String { "\(ResultsSchema.ensembleFolder(ensembleID))/\(ResultsSchema.memberFolder(member))" }

    /// Per-member seed: flyvis seeds every member identically, which makes members differ only
    /// through GPU nondeterminism. We derive a distinct, reproducible seed from both ids.
    package var seed: Int {
        // splitmix64 of the pair, folded to a positive 31-bit integer so it fits every RNG API.
        let z = splitmix64(UInt64(ensembleID) &* splitmix64Increment &+ UInt64(member) &+ 0x632B_E59B_D9B4_E019)
        return Int(z & 0x7FFF_FFFF)
    }

    package static func < (a: MemberID, b: MemberID) -> Bool {
        (a.ensembleID, a.member) < (b.ensembleID, b.member)
    }
}
