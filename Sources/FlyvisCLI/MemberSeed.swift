import ArgumentParser
import FlyvisEnsemble

/// Prints the seed the MPI ensemble gives a member, so array jobs (`train-single seed=...`)
/// train exactly the same networks as `flyvis-ensemble` would.
struct MemberSeed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member-seed", abstract: "Print the per-member seed of (ensemble id, member).")
    @Option(name: .customLong("ensemble-id")) var ensembleID: Int
    @Option var member: Int
    func run() { print(MemberID(ensembleID: ensembleID, member: member).seed) }
}
