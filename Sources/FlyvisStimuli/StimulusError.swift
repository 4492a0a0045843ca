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

/// Largest lattice we render on (4921 hexals); the monitor grows with it past flyvis's 775 pixels.
let maxExtent = 40
/// Largest number of frames per sample (about 14 hours at dt 1/200).
let maxFrames = 10_000_000

/// `int(x)` in Python for a float: truncation toward zero; nil when the result would not fit.
func pythonInt(_ x: Double) -> Int? {
    guard x.isFinite, abs(x) < 9.0e15 else { return nil }
    return Int(x.rounded(.towardZero))
}
