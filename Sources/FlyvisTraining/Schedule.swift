import FlyvisTask
import Foundation

/// One scheduled hyper-parameter (scheduler.<target> in the config).
package struct Schedule: Sendable, Equatable {
    package let target: ScheduleTarget
    package let function: ScheduleFunction
    package let start: Double, stop: Double, steps: Int
    package let values: [Double]

    package init(
        target: ScheduleTarget, function: ScheduleFunction, start: Double, stop: Double, steps: Int,
        stopIter: Int, nIterations: Int
    ) throws(TrainingConfigError) {
        guard steps >= 1 else {
            throw .invalidValue(key: "scheduler.\(target.rawValue).steps", value: "\(steps)", allowed: "a positive integer")
        }
        self.target = target
        self.function = function
        self.start = start
        self.stop = stop
        self.steps = steps
        values = try function.array(stopIter: stopIter, nIterations: nIterations, start: start, stop: stop, steps: steps)
    }

    /// The value at an iteration; past the array's end, its last value.
    package func value(at iteration: Int) -> Double {
        values.isEmpty ? start : values[min(max(iteration, 0), values.count - 1)]
    }
}
