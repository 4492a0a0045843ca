import FlyvisTask
import Foundation

/// All schedules of a run (flyvis's HyperParamScheduler).
package struct HyperParameterScheduler: Sendable, Equatable {
    package let schedules: [Schedule]
    package let stopIter: Int

    package init(schedules: [Schedule], stopIter: Int) {
        self.schedules = schedules
        self.stopIter = stopIter
    }

    /// Values of every scheduled target at an iteration.
    package func values(at iteration: Int) -> [ScheduleTarget: Double] {
        Dictionary(uniqueKeysWithValues: schedules.map { ($0.target, $0.value(at: iteration)) })
    }

    package static func target(named name: String) throws(TrainingConfigError) -> ScheduleTarget {
        guard let t = ScheduleTarget(rawValue: name) else {
            throw .invalidValue(
                key: "scheduler.\(name)", value: name,
                allowed: ScheduleTarget.allCases.map(\.rawValue).joined(separator: ", ") + ", chkpt_every_epoch, sched_stop_iter")
        }
        return t
    }
}
