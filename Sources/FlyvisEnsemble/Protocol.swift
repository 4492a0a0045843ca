import FlyvisRandom
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

/// How a member's training call ended (failures are thrown).
package enum MemberOutcome: Sendable, Equatable {
    /// Reached n_iters (or was already finished).
    case finished
    /// Stopped early on request (SIGTERM/SIGUSR1) after writing a checkpoint.
    case interrupted
}

/// Hooks the coordinator gives a trainer: where to send checkpoint reports, and a cheap check,
/// called between iterations, that says a signal asked everyone to stop.
package struct TrainingHooks {
    /// Called once the member's run is accepted (directory locked, config matching the stored
    /// one), with the iteration it starts from; nothing is recorded as running before that.
    package var started: (Int) -> Void
    package var checkpoint: (ProgressReport) -> Void
    package var iteration: () -> Void
    package var stopRequested: () -> Bool

    package init(started: @escaping (Int) -> Void = { _ in },
                checkpoint: @escaping (ProgressReport) -> Void = { _ in },
                iteration: @escaping () -> Void = {},
                stopRequested: @escaping () -> Bool = { false }) {
        self.started = started
        self.checkpoint = checkpoint
        self.iteration = iteration
        self.stopRequested = stopRequested
    }
}

/// The shared solver core as the ensemble sees it: train one member to completion (or until a
/// stop is requested). `train-single` and every rank of `flyvis-ensemble` go through this.
package protocol MemberTrainer {
    func train(_ member: MemberID, rank: Int, hooks: TrainingHooks) throws -> MemberOutcome
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
