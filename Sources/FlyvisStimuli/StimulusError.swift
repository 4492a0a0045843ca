/// What can go wrong making or reading stimuli; each case names the problem and the fix.
package enum StimulusError: Error, CustomStringConvertible, Equatable {
    case invalidParameter(set: String, name: String, problem: String)
    case sampleOutOfRange(set: String, sample: Int, count: Int)
    case bufferTooSmall(set: String, needed: Int, given: Int)
    case cache(path: String, problem: String)

    package var description: String {
        switch self {
        case let .invalidParameter(set, name, problem):
            return "\(set) stimulus: \(name) \(problem)"
        case let .sampleOutOfRange(set, sample, count):
            return "\(set) stimulus: sample \(sample) does not exist; the set has samples 0..<\(count)"
        case let .bufferTooSmall(set, needed, given):
            return "\(set) stimulus: the buffer holds \(given) values but a sample needs \(needed) (frameCount × hexals)"
        case let .cache(path, problem):
            return "stimulus cache '\(path)': \(problem)"
        }
    }
}

/// Checks shared by the sets' initialisers: finite numbers, non-empty lists, positive steps.
struct ParameterCheck {
    let set: String

    func nonEmpty<T>(_ values: [T], _ name: String) throws(StimulusError) {
        if values.isEmpty { throw .invalidParameter(set: set, name: name, problem: "is empty; give at least one value") }
    }

    func finite(_ values: [Double], _ name: String) throws(StimulusError) {
        if let bad = values.first(where: { !$0.isFinite }) {
            throw .invalidParameter(set: set, name: name, problem: "contains \(bad); every value must be a finite number")
        }
    }

    func positive(_ values: [Double], _ name: String) throws(StimulusError) {
        try finite(values, name)
        if let bad = values.first(where: { $0 <= 0 }) {
            throw .invalidParameter(set: set, name: name, problem: "contains \(bad); every value must be greater than 0")
        }
    }

    func nonNegative(_ value: Double, _ name: String) throws(StimulusError) {
        try finite([value], name)
        if value < 0 { throw .invalidParameter(set: set, name: name, problem: "is \(value); it must be at least 0") }
    }

    func extent(_ extent: Int) throws(StimulusError) {
        if extent < 0 || extent > maxExtent {
            throw .invalidParameter(set: set, name: "extent", problem: "is \(extent); it must lie in 0...\(maxExtent)")
        }
    }

    /// Frames of one sample: bounded so a tiny dt cannot ask for terabytes.
    func frames(_ frames: Int?) throws(StimulusError) -> Int {
        guard let frames, frames <= maxFrames else {
            throw .invalidParameter(set: set, name: "dt", problem: "gives more than \(maxFrames) frames per sample; raise dt or shorten the stimulus")
        }
        return frames
    }
}

/// Largest lattice we render on (4921 hexals); the monitor grows with it past flyvis's 775 pixels.
let maxExtent = 40
/// Largest number of frames per sample (about 14 hours at dt 1/200).
let maxFrames = 10_000_000

/// `int(x)` in Python for a float: truncation toward zero; nil when the result would not fit.
func pythonInt(_ x: Double) -> Int? {
    guard x.isFinite, abs(x) < 9.0e15 else { return nil }
    return Int(x.rounded(.towardZero))
}
