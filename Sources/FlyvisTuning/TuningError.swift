/// Responses or coordinates that the tuning indices cannot be computed from. Each message names
/// what is wrong and what the input must look like.
package enum TuningError: Error, CustomStringConvertible, Equatable {
    /// A coordinate array or the responses do not have the length the others imply.
    case shape(what: String, expected: Int, found: Int)
    /// An empty axis (no samples, frames or cells).
    case empty(String)
    /// A stimulus configuration value the index is not defined for.
    case invalidConfig(key: String, problem: String)
    /// The flashes lack the one ON and one OFF sample the FRI compares at a radius.
    case flashSamples(radius: Double, on: Int, off: Int)
    /// No frame lies in the FRI's time window.
    case emptyWindow(from: Double, to: Double)
    /// Two moving-edge samples share angle, width, intensity and speed.
    case repeatedSample(angle: Double, width: Double, intensity: Double, speed: Double)
    /// A cell type the ground truth needs is missing or appears more than once.
    case cellType(String, count: Int)
    /// An intensity the comparison needs is not among the stimulus intensities.
    case missingIntensity(Double, needed: String)

    package var description: String {
        switch self {
        case let .shape(what, expected, found):
            return
                "\(what) has \(found) values, expected \(expected) (responses are laid out (sample, frame, cell) with one entry per sample parameter, time step and cell type)"
        case let .empty(what):
            return "no \(what): tuning indices need at least one sample, frame and cell"
        case let .invalidConfig(key, problem):
            return "stimulus config \(key): \(problem)"
        case let .flashSamples(radius, on, off):
            return "flashes of radius \(radius): found \(on) ON and \(off) OFF samples; the flash response index needs exactly one of each"
        case let .emptyWindow(from, to):
            return "no frame with \(from) <= time <= \(to); the flash response index needs the stimulus period in the time axis"
        case let .repeatedSample(angle, width, intensity, speed):
            return
                "two moving-edge samples with angle \(angle), width \(width), intensity \(intensity), speed \(speed); each combination may appear once"
        case let .cellType(name, count):
            return "cell type \(name) appears \(count) times; the comparison to known tuning needs it exactly once"
        case let .missingIntensity(value, needed):
            return "intensity \(value) is not among the moving-edge intensities; \(needed) needs it"
        }
    }
}
