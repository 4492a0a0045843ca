import Foundation

/// How well a model's tuning indices agree with the known tuning (`KnownTuning`): flyvis 1.2.0's
/// `fri_correlation_to_known` (`flyvis.analysis.flash_responses`), `dsi_correlation_to_known` and
/// `angular_distance_to_known` (`flyvis.analysis.moving_bar_responses`).
package enum TuningCorrelation {
    /// Pearson correlation of the FRIs (one per cell, in `cellTypes` order; flyvis passes the
    /// radius-6 FRI) with the known polarities, over the 32 types of known polarity. Each of
    /// them must appear once in `cellTypes` (flyvis fails otherwise). NaN when the FRIs of those
    /// types are all equal (for example a model that never responds), as in flyvis.
    package static func friCorrelationToKnown(fri: [Double], cellTypes: [String]) throws(TuningError) -> Double {
        guard fri.count == cellTypes.count else { throw .shape(what: "FRI", expected: cellTypes.count, found: fri.count) }
        var ours = [Double](), known = [Double]()
        for (type, polarity) in KnownTuning.knownPolarity {
            let rows = cellTypes.indices.filter { cellTypes[$0] == type }
            guard rows.count == 1 else { throw .cellType(type, count: rows.count) }
            ours.append(fri[rows[0]])
            known.append(Double(polarity))
        }
        return pearson(ours, known)
    }

    /// Pearson correlation of the DSIs (two intensities; the larger of the two per cell) with
    /// the known direction selectivity (1 for T4/T5, 0 for their non-selective inputs), over
    /// the cells whose type is in `KnownTuning.knownDSITypes`, as many as appear (flyvis selects
    /// with `isin` and does not require all of them).
    package static func dsiCorrelationToKnown(dsi: TuningByIntensity) throws(TuningError) -> Double {
        // flyvis asserts two intensities.
        guard dsi.intensity.count == 2 else {
            throw .invalidConfig(key: "intensities", problem: "the DSI correlation needs two edge intensities (got \(dsi.intensity))")
        }
        guard dsi.values.count == dsi.cellTypes.count * 2 else {
            throw .shape(what: "DSI", expected: dsi.cellTypes.count * 2, found: dsi.values.count)
        }
        let known = Set(KnownTuning.knownDSITypes), tuned = Set(KnownTuning.motionTuning)
        var ours = [Double](), truth = [Double]()
        for (cell, type) in dsi.cellTypes.enumerated() where known.contains(type) {
            ours.append(nanMax(dsi[cell, 0], dsi[cell, 1]))
            truth.append(tuned.contains(type) ? 1 : 0)
        }
        return pearson(ours, truth)
    }

    /// Angular distances in [0, π] between the preferred directions and the known ones: T4a–d
    /// at intensity 1, then T5a–d at intensity 0 (8 values). flyvis pairs its hard-coded
    /// directions with the T4/T5 cells in dataset order; we pair them by name, which is the
    /// same for flyvis's cell-type order.
    package static func angularDistanceToKnown(preferredDirection pd: TuningByIntensity) throws(TuningError) -> [Double] {
        guard pd.values.count == pd.cellTypes.count * pd.intensity.count else {
            throw .shape(what: "preferred directions", expected: pd.cellTypes.count * pd.intensity.count, found: pd.values.count)
        }
        var out = [Double]()
        for (type, degrees) in KnownTuning.preferredDirections {
            let level = type.hasPrefix("T4") ? 1.0 : 0.0
            // flyvis selects the intensity with np.isclose (rtol 1e-5, atol 1e-8).
            guard let column = pd.intensity.firstIndex(where: { abs($0 - level) <= 1e-8 + 1e-5 * abs(level) }) else {
                throw .missingIntensity(level, needed: "the angular distance of \(type)")
            }
            let rows = pd.cellTypes.indices.filter { pd.cellTypes[$0] == type }
            guard rows.count == 1 else { throw .cellType(type, count: rows.count) }
            out.append(angularDistance(pd[rows[0], column], degrees * Double.pi / 180))
        }
        return out
    }

    /// flyvis's `simple_angle_distance`: both angles taken mod 2π, then the shorter way round.
    package static func angularDistance(_ a: Double, _ b: Double) -> Double {
        let twoPi = 2 * Double.pi
        let x = positiveRemainder(a, twoPi), y = positiveRemainder(b, twoPi)
        let d = abs(x - y)
        return d > Double.pi ? twoPi - d : d
    }

    /// xarray's `corr`: pairs with a NaN on either side are left out, then the covariance over
    /// the product of the standard deviations (population moments, as xarray's ddof 0). NaN
    /// when either side is constant.
    package static func pearson(_ a: [Double], _ b: [Double]) -> Double {
        let pairs = zip(a, b).filter { !$0.0.isNaN && !$0.1.isNaN }
        guard !pairs.isEmpty else { return .nan }
        let n = Double(pairs.count)
        let meanA = pairs.reduce(0) { $0 + $1.0 } / n, meanB = pairs.reduce(0) { $0 + $1.1 } / n
        var cov = 0.0, varA = 0.0, varB = 0.0
        for (x, y) in pairs {
            cov += (x - meanA) * (y - meanB)
            varA += (x - meanA) * (x - meanA)
            varB += (y - meanB) * (y - meanB)
        }
        return (cov / n) / ((varA / n).squareRoot() * (varB / n).squareRoot())
    }

    /// numpy's `%` for floats: the remainder with the divisor's sign.
    private static func positiveRemainder(_ x: Double, _ m: Double) -> Double {
        let r = fmod(x, m)
        return r < 0 ? r + m : r
    }

    private static func nanMax(_ a: Double, _ b: Double) -> Double {
        if a.isNaN { return b }
        if b.isNaN { return a }
        return max(a, b)
    }
}
