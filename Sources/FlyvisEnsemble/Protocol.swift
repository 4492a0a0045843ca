import FlyvisRandom
import Foundation

/// One ensemble member: the network `<task>/<EEEE>/<NNN>` in flyvis's naming.
public struct MemberID: Hashable, Sendable, Codable, Comparable {
    public let ensembleID: Int
    public let member: Int

    public init(ensembleID: Int, member: Int) {
        self.ensembleID = ensembleID
        self.member = member
    }

    /// flyvis's `ensemble_and_network_id`, e.g. "0045/003".
    public var name: String { String(format: "%04d/%03d", ensembleID, member) }

    /// Per-member seed: flyvis seeds every member identically, which makes members differ only
    /// through GPU nondeterminism. We derive a distinct, reproducible seed from both ids.
    public var seed: Int {
        // splitmix64 of the pair, folded to a positive 31-bit integer so it fits every RNG API.
        let z = splitmix64(UInt64(ensembleID) &* splitmix64Increment &+ UInt64(member) &+ 0x632B_E59B_D9B4_E019)
        return Int(z & 0x7FFF_FFFF)
    }

    public static func < (a: MemberID, b: MemberID) -> Bool {
        (a.ensembleID, a.member) < (b.ensembleID, b.member)
    }
}

/// What a training member reports to the coordinator at each checkpoint (and when it ends).
public struct ProgressReport: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable { case running, finished, failed, interrupted }

    public var member: Int
    public var rank: Int
    public var state: State
    public var iteration: Int
    public var totalIterations: Int
    public var valLoss: Double?
    public var bestValLoss: Double?
    public var checkpointIndex: Int?
    public var iterationsPerSecond: Double?
    public var error: String?

    public init(member: Int, rank: Int, state: State, iteration: Int, totalIterations: Int,
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
public enum MemberOutcome: Sendable, Equatable {
    /// Reached n_iters (or was already finished).
    case finished
    /// Stopped early on request (SIGTERM/SIGUSR1) after writing a checkpoint.
    case interrupted
}

/// Hooks the coordinator gives a trainer: where to send checkpoint reports, and a cheap check,
/// called between iterations, that says a signal asked everyone to stop.
public struct TrainingHooks {
    /// Called once the member's run is accepted (directory locked, config matching the stored
    /// one), with the iteration it starts from; nothing is recorded as running before that.
    public var started: (Int) -> Void
    public var checkpoint: (ProgressReport) -> Void
    public var iteration: () -> Void
    public var stopRequested: () -> Bool

    public init(started: @escaping (Int) -> Void = { _ in },
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
public protocol MemberTrainer {
    func train(_ member: MemberID, rank: Int, hooks: TrainingHooks) throws -> MemberOutcome
}
