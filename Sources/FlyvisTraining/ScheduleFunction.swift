import FlyvisTask
import Foundation

/// flyvis's hyper-parameter schedule functions, reproducing the reference's numpy arrays
/// exactly: value at iteration i is `array[i]`, and past the end (iteration ≥ stop_iter) the
/// last entry.
package enum ScheduleFunction: String, Sendable, CaseIterable {
    case linear, stepwise, stepwise_2ndhalf, stepwise_half, steponential, exponential, exponential_half

    /// The reference also lists `steponential_inv`, which divides by zero; we reject it.
    package static func named(_ name: String, key: String) throws(TrainingConfigError) -> ScheduleFunction {
        if name == "steponential_inv" {
            throw .invalidValue(
                key: key, value: name,
                allowed: allCases.map(\.rawValue).joined(separator: ", ")
                    + " (steponential_inv divides by zero in flyvis and is not supported)")
        }
        guard let f = ScheduleFunction(rawValue: name) else {
            throw .invalidValue(key: key, value: name, allowed: allCases.map(\.rawValue).joined(separator: ", "))
        }
        return f
    }

    /// The schedule array for `nIterations` iterations (length ≥ nIterations + 1).
    package func array(stopIter: Int, nIterations: Int, start: Double, stop: Double, steps: Int) throws(TrainingConfigError) -> [Double] {
        func padEnd(_ f: [Double], _ value: Double) throws(TrainingConfigError) -> [Double] {
            let n = nIterations - f.count + 1
            guard n >= 0 else {
                throw .invalidValue(
                    key: "scheduler", value: "sched_stop_iter \(stopIter) > n_iters \(nIterations)",
                    allowed: "sched_stop_iter ≤ task.n_iters")
            }
            return f + [Double](repeating: value, count: n)
        }
        func repeated(_ values: [Double], _ times: Double) -> [Double] {
            let r = Int(times.rounded(.towardZero))
            return values.flatMap { [Double](repeating: $0, count: max(r, 0)) }
        }
        switch self {
        case .linear:
            return try padEnd(linspace(start, stop, stopIter), stop)
        case .stepwise:
            return try padEnd(repeated(linspace(start, stop, steps), Double(stopIter) / Double(steps)), stop)
        case .stepwise_2ndhalf:
            let f = repeated(linspace(start, stop, steps), Double(stopIter) / 2 / Double(steps))
            let n = nIterations - f.count + 1
            guard n >= 0 else { throw .invalidValue(key: "scheduler", value: "sched_stop_iter", allowed: "≤ n_iters") }
            return [Double](repeating: start, count: n) + f
        case .stepwise_half:
            return try padEnd(repeated(linspace(start, stop, steps), Double(stopIter) / 2 / Double(steps)), stop)
        case .steponential:
            let x = Foundation.pow(1 / stop, 1 / Double(steps))
            let values = (0..<steps).map { start / Foundation.pow(x, Double($0)) }
            return try padEnd(repeated(values, Double(stopIter) / Double(steps)), values.last ?? start)
        case .exponential:
            let tau = -Double(stopIter) / (Foundation.log(stop + 1e-15) - Foundation.log(start))
            return try padEnd((0..<stopIter).map { start * Foundation.exp(-Double($0) / tau) }, stop)
        case .exponential_half:
            let half = Int((Double(stopIter) / 2).rounded(.towardZero))
            let tau = -Double(half) / (Foundation.log(stop) - Foundation.log(start))
            return try padEnd((0..<half).map { start * Foundation.exp(-Double($0) / tau) }, stop)
        }
    }
}

/// numpy.linspace: evenly spaced, endpoint exact.
func linspace(_ start: Double, _ stop: Double, _ num: Int) -> [Double] {
    guard num > 0 else { return [] }
    guard num > 1 else { return [start] }
    let step = (stop - start) / Double(num - 1)
    var out = (0..<num).map { Double($0) * step + start }
    out[num - 1] = stop
    return out
}
