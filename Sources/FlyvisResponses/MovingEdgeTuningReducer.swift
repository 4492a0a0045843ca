import FlyvisStimuli
import FlyvisTuning

/// Reduces one member's central responses to the moving edges batch by batch to flyvis's peak
/// responses (one value per sample and cell type: the rectified maximum inside the edge's time
/// mask), from which the DSI, the preferred direction and the DSI's correlation with the known
/// tuning follow. The responses themselves are never all in memory. Result layout: DSI (cell,
/// intensity), preferred direction (cell, intensity), then the correlation (NaN unless there
/// are exactly two intensities).
package struct MovingEdgeTuningReducer: ResponseReducer {
    package let coordinates: MovingEdgeCoordinates
    package let intensities: [Double]
    var peaks: [Float]

    package init(set: any StimulusSet, cellTypes: [String]) throws {
        guard let angle = set.sampleValues("angle"), let width = set.sampleValues("width"),
            let intensity = set.sampleValues("intensity"), let speed = set.sampleValues("speed")
        else {
            throw ResponsesError.invalidParameter(
                "stimulus set '\(set.name)' lacks angle, width, intensity or speed per sample; it is not a moving-edge set")
        }
        var c = MovingEdgeCoordinates(
            angle: angle, width: width, intensity: intensity, speed: speed, time: set.time,
            cellTypes: cellTypes)
        if case let .numbers(o)? = set.configurationValue("offsets") { c.offsets = o }
        try c.validate(responsesCount: c.samples * c.frames * c.cells)
        coordinates = c
        intensities = Array(Set(intensity)).sorted()
        peaks = [Float](repeating: .nan, count: c.samples * c.cells)
    }

    package var resultCount: Int { 2 * coordinates.cells * intensities.count + 1 }

    package mutating func add(samples: Range<Int>, values: [Float], cells: CellCoordinates) throws {
        let types = coordinates.cells
        let central = cells.central(values, samples: samples.count, frames: coordinates.frames)
        var subset = coordinates
        subset.angle = Array(coordinates.angle[samples])
        subset.width = Array(coordinates.width[samples])
        subset.intensity = Array(coordinates.intensity[samples])
        subset.speed = Array(coordinates.speed[samples])
        let batch = try DirectionSelectivity.peakResponses(responses: central, coordinates: subset)
        peaks.replaceSubrange((samples.lowerBound * types)..<(samples.upperBound * types), with: batch)
    }

    package func result() throws -> [Double] {
        let dsi = try DirectionSelectivity.index(peaks: peaks, coordinates: coordinates)
        let pd = try DirectionSelectivity.preferredDirection(peaks: peaks, coordinates: coordinates)
        let correlation = intensities.count == 2 ? try TuningCorrelation.dsiCorrelationToKnown(dsi: dsi) : .nan
        return dsi.values + pd.values + [correlation]
    }
}
