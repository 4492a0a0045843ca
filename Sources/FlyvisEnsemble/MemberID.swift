import FlyvisRandom
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
    package var name: String { String(format: "%04d/%03d", ensembleID, member) }

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

/// What a training member reports to the coordinator at each checkpoint (and when it ends).
package struct ProgressReport: Codable, Sendable, Equatable {
    package typealias State = MemberState

    package var member: Int
    package var rank: Int
    package var state: State
    package var iteration: Int
    package var totalIterations: Int
    package var valLoss: Double?
    package var bestValLoss: Double?
    package var checkpointIndex: Int?
    package var iterationsPerSecond: Double?
    package var error: String?

    package init(member: Int, rank: Int, state: State, iteration: Int, totalIterations: Int,
                valLoss: Double? = nil, bestValLoss: Double? = nil, checkpointIndex: Int? = nil,
                iterationsPerSecond: Double? = nil, error: String? = nil) {
        self.member = member
        self.rank = rank
        self.state = state
        self.iteration = iteration
        self.totalIterations = totalIterations
        self.valLoss = valLoss
        self.bestValLoss = bestValLoss
        self.checkpointIndex = checkpointIndex
        self.iterationsPerSecond = iterationsPerSecond
        self.error = error
    }
}

/// Trains one member through the shared solver core (the CLI's solver trainer; tests may
/// substitute their own). Status files and reports are the member lifecycle's business.
package protocol MemberTrainer {
    func train(_ member: MemberID, rank: Int, hooks: TrainingHooks) throws -> TrainingOutcome
}

/// A member's state, in one vocabulary for progress reports, `_status.yaml`, the status table,
/// the summary and the job's exit status.
package enum MemberState: String, Codable, Sendable, CaseIterable {
    /// Not started by this job yet.
    case pending
    case running, finished, failed, interrupted
    /// Results but no recorded state (e.g. a directory trained by flyvis).
    case unknown
    /// No results at all.
    case missing

    /// The code in `ensemble_summary.h5`'s `status` dataset (its `status_codes` attribute).
    package var summaryCode: Int32 {
        switch self {
        case .missing: return 0
        case .pending, .running, .unknown: return 1
        case .finished: return 2
        case .failed: return 3
        case .interrupted: return 4
        }
    }

    package static let summaryCodeLegend = "0 missing, 1 pending/running/unknown, 2 finished, 3 failed, 4 interrupted"

    /// For the job's exit status, the worst over all members: interrupted (rerun to resume)
    /// over failed over everything else.
    package var severity: Int32 {
        switch self {
        case .interrupted: return 2
        case .failed: return 1
        default: return 0
        }
    }
}
