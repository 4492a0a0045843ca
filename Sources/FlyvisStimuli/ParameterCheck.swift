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
            throw .invalidParameter(
                set: set, name: "dt", problem: "gives more than \(maxFrames) frames per sample; raise dt or shorten the stimulus")
        }
        return frames
    }
}
