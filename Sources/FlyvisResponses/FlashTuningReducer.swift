import FlyvisStimuli
import FlyvisTuning

/// Keeps one member's central responses to the flashes (a few samples, small) and turns them
/// into the flash response index at every radius, plus the radius-6 FRI's correlation with the
/// known polarities. Result layout: per radius (in `radii` order) one FRI per cell type, then
/// the correlation (NaN without radius 6).
package struct FlashTuningReducer: ResponseReducer {
    package let coordinates: FlashCoordinates
    package let radii: [Double]
    var central: [Float]

    package init(set: any StimulusSet, cellTypes: [String]) throws {
        guard let radius = set.sampleValues("radius"), let intensity = set.sampleValues("intensity") else {
            throw ResponsesError.invalidParameter(
                "stimulus set '\(set.name)' has no radius and intensity per sample; it is not a flash set")
        }
        var c = FlashCoordinates(radius: radius, intensity: intensity, time: set.time, cellTypes: cellTypes, dt: set.dt)
        if case let .number(t)? = set.configurationValue("t_stim") { c.tStim = t }
        if case let .numbers(a)? = set.configurationValue("alternations") { c.alternations = a }
        coordinates = c
        radii = Array(Set(radius)).sorted { a, b in a == 6 ? true : b == 6 ? false : a > b }
        central = [Float](repeating: .nan, count: c.samples * c.frames * c.cells)
    }

    package var resultCount: Int { radii.count * coordinates.cells + 1 }

    package mutating func add(samples: Range<Int>, values: [Float], cells: CellCoordinates) throws {
        let size = coordinates.frames * coordinates.cells
        central.replaceSubrange(
            (samples.lowerBound * size)..<(samples.upperBound * size),
            with: cells.central(values, samples: samples.count, frames: coordinates.frames))
    }

    package func result() throws -> [Double] {
        var out: [Double] = []
        var correlation = Double.nan
        for r in radii {
            let fri = try FlashResponseIndex.compute(responses: central, coordinates: coordinates, radius: r)
            if r == 6, fri.allSatisfy(\.isFinite) {
                correlation = try TuningCorrelation.friCorrelationToKnown(fri: fri, cellTypes: coordinates.cellTypes)
            }
            out += fri
        }
        return out + [correlation]
    }
}
