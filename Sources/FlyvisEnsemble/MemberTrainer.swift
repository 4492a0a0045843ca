import FlyvisRandom
import FlyvisSolver
import Foundation

/// Trains one member through the shared solver core (the CLI's solver trainer; tests may
/// substitute their own). Status files and reports are the member lifecycle's business.
package protocol MemberTrainer {
    func train(_ member: MemberID, rank: Int, hooks: TrainingHooks) throws -> TrainingOutcome
}
