import FlyvisResults
import FlyvisSolver
import Foundation

/// One member's run and the state it records, the same for `train-single` and every rank of an
/// ensemble. `_status.yaml` says `running` once the trainer has accepted the member (directory
/// locked, config matching the stored one) and at each checkpoint, then `finished`,
/// `interrupted` or `failed` with the error. A refused member (held by another live run, or a
/// rerun whose config does not match) keeps the state it had. Every change is also sent as a
/// `ProgressReport` (the coordinator's status table; `train-single` ignores them).
package struct MemberLifecycle {
    package let member: MemberID
    package let rank: Int
    package let directory: ResultsDirectory
    /// Called between iterations (rank 0 serves the other ranks' messages there).
    package var betweenIterations: () -> Void = {}
    package var stopRequested: () -> Bool = { StopSignal.isSet }
    package var send: (ProgressReport) -> Void = { _ in }

    package init(member: MemberID, rank: Int, directory: ResultsDirectory) {
        self.member = member
        self.rank = rank
        self.directory = directory
    }

    /// Trains the member; the final status, and the error when it failed.
    package func run(_ trainer: any MemberTrainer) -> (status: MemberStatus, error: Error?) {
        var last = ProgressReport(member: member.member, rank: rank, state: .running, iteration: 0, totalIterations: 0)
        let record = { (report: ProgressReport) in
            last = report
            try? MemberStatus(state: .running, iteration: report.iteration).write(to: directory)
            send(report)
        }
        var hooks = TrainingHooks()
        hooks.started = { iteration, total in
            var r = last
            (r.iteration, r.totalIterations) = (iteration, total)
            record(r)
        }
        hooks.afterIteration = betweenIterations
        hooks.stopRequested = stopRequested
        hooks.progress = { iteration, rate in
            var r = ProgressReport(
                member: member.member, rank: rank, state: .running, iteration: iteration,
                totalIterations: last.totalIterations, iterationsPerSecond: rate)
            // Between checkpoints the last validation figures still hold.
            (r.valLoss, r.bestValLoss, r.checkpointIndex) = (last.valLoss, last.bestValLoss, last.checkpointIndex)
            record(r)
        }
        hooks.afterCheckpoint = { index, iteration, loss, best, rate in
            record(
                ProgressReport(
                    member: member.member, rank: rank, state: .running, iteration: iteration,
                    totalIterations: last.totalIterations, valLoss: loss, bestValLoss: best,
                    checkpointIndex: index, iterationsPerSecond: rate > 0 ? rate : nil))
        }
        let status: MemberStatus
        var failure: Error?
        var untouched = false
        do {
            let state: MemberState
            switch try trainer.train(member, rank: rank, hooks: hooks) {
            case .finished: state = .finished
            case .interrupted: state = .interrupted
            case .notTrained: state = .pending
            }
            status = MemberStatus(state: state, iteration: last.iteration)
        } catch {
            failure = error
            status = MemberStatus(state: .failed, iteration: last.iteration, error: "\(error)")
            if let refusal = error as? MemberRefusal, refusal.leavesMemberUntouched { untouched = true }
        }
        if !untouched { try? status.write(to: directory) }
        var final = last
        // A refused member is shown as its directory has it (say finished), with the reason.
        final.state = untouched ? MemberStatus.read(from: directory)?.state ?? .pending : status.state
        final.error = status.error
        send(final)
        return (status, failure)
    }
}
