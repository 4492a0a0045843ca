import Foundation

/// Direction selectivity from responses to moving edges: flyvis 1.2.0's
/// `flyvis.analysis.moving_bar_responses` (`peak_responses`, `peak_responses_angular`,
/// `direction_selectivity_index`, `preferred_direction`) with their defaults.
///
/// - Peak: per sample and cell, the largest rectified response inside the sample's time mask
///   (`MovingEdgeTimeMask`); frames outside count as 0, NaN frames are skipped. float32, as
///   flyvis keeps the responses' dtype.
/// - The samples form a grid over (angle, width, intensity, speed), each axis sorted; each peak
///   becomes the vector peak·e^{iθ}, θ the angle in radians.
/// - DSI = |Σ_θ peak·e^{iθ}| / (max over intensities of Σ_θ |peak| + 1e−15), per
///   (cell, width, intensity, speed), then the mean over widths and speeds. The denominator is
///   shared by both intensities: a cell that answers ON edges strongly has its OFF DSI scaled
///   by the ON response.
/// - Preferred direction: the angle (radians, in (−π, π]) of the vector sum over angles, widths
///   and speeds together, per cell and intensity; 0 for a cell that never responds.
/// Sums and means skip NaN as xarray's do, so a grid point without a sample adds nothing.
package enum DirectionSelectivity {
    /// flyvis's `direction_selectivity_index(dataset)` (average over widths and speeds).
    package static func index(responses: [Float], coordinates: MovingEdgeCoordinates) throws(TuningError) -> TuningByIntensity {
        try index(peaks: try peakResponses(responses: responses, coordinates: coordinates), coordinates: coordinates)
    }

    /// The same from the peaks (sample, cell) of `peakResponses`, which a caller can take batch
    /// by batch so that a member's responses are never all in memory.
    package static func index(peaks: [Float], coordinates: MovingEdgeCoordinates) throws(TuningError) -> TuningByIntensity {
        let grid = try AngularGrid(peaks: peaks, coordinates: coordinates)
        var out = [Double](repeating: 0, count: grid.cells * grid.intensities.count)
        for cell in 0..<grid.cells {
            for w in grid.widths.indices {
                for v in grid.speeds.indices {
                    var norm = -Double.infinity
                    for i in grid.intensities.indices {
                        norm = max(norm, grid.sum(cell: cell, width: w, intensity: i, speed: v).magnitudes)
                    }
                    for i in grid.intensities.indices {
                        let length = grid.sum(cell: cell, width: w, intensity: i, speed: v).length
                        out[cell * grid.intensities.count + i] += length / (norm + 1e-15)
                    }
                }
            }
        }
        let combos = Double(grid.widths.count * grid.speeds.count)
        return TuningByIntensity(
            cellTypes: coordinates.cellTypes, intensity: grid.intensities,
            values: out.map { $0 / combos })
    }

    /// flyvis's `preferred_direction(dataset)` (vector sum over angles, widths and speeds).
    package static func preferredDirection(responses: [Float], coordinates: MovingEdgeCoordinates) throws(TuningError) -> TuningByIntensity
    {
        try preferredDirection(peaks: try peakResponses(responses: responses, coordinates: coordinates), coordinates: coordinates)
    }

    /// The same from the peaks (sample, cell) of `peakResponses`.
    package static func preferredDirection(peaks: [Float], coordinates: MovingEdgeCoordinates) throws(TuningError) -> TuningByIntensity {
        let grid = try AngularGrid(peaks: peaks, coordinates: coordinates)
        var out = [Double]()
        for cell in 0..<grid.cells {
            for i in grid.intensities.indices {
                var re = 0.0, im = 0.0
                for w in grid.widths.indices {
                    for v in grid.speeds.indices {
                        let s = grid.sum(cell: cell, width: w, intensity: i, speed: v)
                        re += s.re
                        im += s.im
                    }
                }
                out.append(atan2(im, re))
            }
        }
        return TuningByIntensity(cellTypes: coordinates.cellTypes, intensity: grid.intensities, values: out)
    }

    /// flyvis's `peak_responses(dataset)`: (sample, cell), float32.
    package static func peakResponses(responses: [Float], coordinates c: MovingEdgeCoordinates) throws(TuningError) -> [Float] {
        try c.validate(responsesCount: responses.count)
        let masks = try MovingEdgeTimeMask.masks(speed: c.speed, time: c.time, offsets: c.offsets)
        var peaks = [Float](repeating: .nan, count: c.samples * c.cells)
        for s in 0..<c.samples {
            for cell in 0..<c.cells {
                var best = Float.nan
                for f in 0..<c.frames {
                    // Outside the mask the response is replaced by 0; inside it is rectified.
                    let raw: Float = masks[s * c.frames + f] ? responses[(s * c.frames + f) * c.cells + cell] : 0
                    if raw.isNaN { continue }
                    let v = max(raw, 0)
                    if best.isNaN || v > best { best = v }
                }
                peaks[s * c.cells + cell] = best
            }
        }
        return peaks
    }
}

/// The vector sums over angles of the peaks, on the (angle, width, intensity, speed) grid.
private struct AngularGrid {
    struct Sum {
        var re = 0.0, im = 0.0, magnitudes = 0.0
        var length: Double { hypot(re, im) }
    }
    let widths: [Double], intensities: [Double], speeds: [Double]
    let cells: Int
    /// (cell, width, intensity, speed) flattened.
    private var sums: [Sum]

    init(peaks: [Float], coordinates c: MovingEdgeCoordinates) throws(TuningError) {
        try c.validate(responsesCount: c.samples * c.frames * c.cells)
        guard peaks.count == c.samples * c.cells else { throw .shape(what: "peaks", expected: c.samples * c.cells, found: peaks.count) }
        let angles = Array(Set(c.angle)).sorted()
        widths = Array(Set(c.width)).sorted()
        intensities = Array(Set(c.intensity)).sorted()
        speeds = Array(Set(c.speed)).sorted()
        cells = c.cells
        func position(_ values: [Double], _ v: Double) -> Int { values.firstIndex(of: v)! }
        var seen = Set<[Int]>()
        sums = Array(repeating: Sum(), count: cells * widths.count * intensities.count * speeds.count)
        for s in 0..<c.samples {
            let key = [
                position(angles, c.angle[s]), position(widths, c.width[s]),
                position(intensities, c.intensity[s]), position(speeds, c.speed[s]),
            ]
            guard seen.insert(key).inserted else {
                throw .repeatedSample(angle: c.angle[s], width: c.width[s], intensity: c.intensity[s], speed: c.speed[s])
            }
            // numpy's deg2rad and exp(iθ) = cos θ + i sin θ.
            let theta = c.angle[s] * (Double.pi / 180)
            let (cosine, sine) = (cos(theta), sin(theta))
            for cell in 0..<cells {
                let p = Double(peaks[s * cells + cell])
                if p.isNaN { continue }
                let re = p * cosine, im = p * sine
                let k = index(cell: cell, width: key[1], intensity: key[2], speed: key[3])
                sums[k].re += re
                sums[k].im += im
                sums[k].magnitudes += hypot(re, im)
            }
        }
    }

    private func index(cell: Int, width: Int, intensity: Int, speed: Int) -> Int {
        ((cell * widths.count + width) * intensities.count + intensity) * speeds.count + speed
    }

    func sum(cell: Int, width: Int, intensity: Int, speed: Int) -> Sum {
        sums[index(cell: cell, width: width, intensity: intensity, speed: speed)]
    }
}
