import FlyvisHDF5
import FlyvisTestSupport
import FlyvisTuning
import Foundation
import Testing

/// flyvis 1.2.0's own analysis of one model (Fixtures.responses, schema in
/// Tests/Fixtures/README.md): our indices from the file's responses and coordinates against the
/// indices flyvis stored beside them. README tolerances: FRI, DSI and correlations 1e-5
/// absolute; preferred directions 0.05 rad where the DSI exceeds 1e-4.
@Suite struct TuningReferenceTests {
    static func flashes(_ f: HDF5File) throws -> (responses: [Float], coordinates: FlashCoordinates) {
        let r: HDF5Array<Float> = try f.read("flashes/responses")
        #expect(r.shape.first == 1, "one network in the fixture")
        let c = FlashCoordinates(
            radius: try f.read("flashes/sample_radius", as: Double.self).values,
            intensity: try f.read("flashes/sample_intensity", as: Double.self).values,
            time: try f.read("flashes/time", as: Double.self).values,
            cellTypes: try f.readStrings("flashes/cell_type"),
            dt: try f.attribute("config_dt", on: "/flashes", as: Double.self),
            tStim: try f.attribute("config_t_stim", on: "/flashes", as: Double.self),
            alternations: try f.attributeArray("config_alternations", on: "/flashes", as: Double.self))
        return (r.values, c)
    }

    static func movingEdges(_ f: HDF5File) throws -> (responses: [Float], coordinates: MovingEdgeCoordinates) {
        let r: HDF5Array<Float> = try f.read("moving_edge/responses")
        #expect(r.shape.first == 1, "one network in the fixture")
        let c = MovingEdgeCoordinates(
            angle: try f.read("moving_edge/sample_angle", as: Double.self).values,
            width: try f.read("moving_edge/sample_width", as: Double.self).values,
            intensity: try f.read("moving_edge/sample_intensity", as: Double.self).values,
            speed: try f.read("moving_edge/sample_speed", as: Double.self).values,
            time: try f.read("moving_edge/time", as: Double.self).values,
            cellTypes: try f.readStrings("moving_edge/cell_type"),
            offsets: try f.attributeArray("config_offsets", on: "/moving_edge", as: Double.self))
        return (r.values, c)
    }

    @Test func flashResponseIndexAndCorrelation() throws {
        let f = try Fixtures.open(Fixtures.responses)
        let (responses, c) = try Self.flashes(f)
        #expect(c.cells == 65)
        var fri6 = [Double]()
        for (radius, key) in [(6.0, "fri_radius_6"), (-1.0, "fri_radius_-1")] {
            let ours = try FlashResponseIndex.compute(responses: responses, coordinates: c, radius: radius)
            let ref: HDF5Array<Double> = try f.read("flashes/\(key)")
            let err = maxAbsDiff(ours, ref.values)
            #expect(err <= 1e-5, "\(key): max error \(err)")
            if radius == 6 { fri6 = ours }
        }
        let corr = try TuningCorrelation.friCorrelationToKnown(fri: fri6, cellTypes: c.cellTypes)
        let ref: HDF5Array<Double> = try f.read("flashes/fri_correlation_to_known")
        let err = maxAbsDiff([corr], ref.values)
        #expect(err <= 1e-5, "fri_correlation_to_known \(corr) vs \(ref.values): error \(err)")
    }

    @Test func directionSelectivityPreferredDirectionAndCorrelations() throws {
        let f = try Fixtures.open(Fixtures.responses)
        let (responses, c) = try Self.movingEdges(f)
        let dsi = try DirectionSelectivity.index(responses: responses, coordinates: c)
        let refDSI: HDF5Array<Double> = try f.read("moving_edge/dsi")
        #expect(refDSI.shape == [65, 2])
        #expect(dsi.intensity == (try f.read("moving_edge/dsi_intensity", as: Double.self).values))
        let dsiErr = maxAbsDiff(dsi.values, refDSI.values)
        #expect(dsiErr <= 1e-5, "dsi: max error \(dsiErr)")

        // Compared where the reference DSI exceeds 1e-4: below that the vector sum is noise.
        let pd = try DirectionSelectivity.preferredDirection(responses: responses, coordinates: c)
        let refPD: HDF5Array<Double> = try f.read("moving_edge/preferred_direction")
        #expect(refPD.shape == [1, 65, 2] && pd.values.count == refPD.values.count)
        let tuned = refDSI.values.indices.filter { refDSI.values[$0] > 1e-4 }
        #expect(!tuned.isEmpty)
        let gaps = tuned.map { i in
            i < pd.values.count ? TuningCorrelation.angularDistance(pd.values[i], refPD.values[i]) : .infinity
        }
        #expect((gaps.max() ?? .infinity) <= 0.05, "preferred direction: largest gap \(gaps.max() ?? .nan) rad over \(tuned.count) entries")

        let corr = try TuningCorrelation.dsiCorrelationToKnown(dsi: dsi)
        let refCorr = try f.readScalar("moving_edge/dsi_correlation_to_known", as: Double.self)
        #expect(abs(corr - refCorr) <= 1e-5, "dsi_correlation_to_known \(corr) vs \(refCorr)")

        let distances = try TuningCorrelation.angularDistanceToKnown(preferredDirection: pd)
        let refDistances: HDF5Array<Double> = try f.read("moving_edge/angular_distance_to_known")
        let distErr = maxAbsDiff(distances, refDistances.values)
        #expect(distErr <= 0.05, "angular_distance_to_known: max error \(distErr) rad")
    }
}
