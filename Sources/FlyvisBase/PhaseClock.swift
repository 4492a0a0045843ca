import Foundation

/// Accumulates wall time per named phase (the decoder's and the training step's timings).
package struct PhaseClock {
    package var phases: [String: Double] = [:]
    package init() {}
    var last = DispatchTime.now().uptimeNanoseconds
    package mutating func lap(_ name: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        phases[name, default: 0] += Double(now - last) / 1e9
        last = now
    }
}
