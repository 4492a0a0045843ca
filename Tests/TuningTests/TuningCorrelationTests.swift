import FlyvisTestSupport
import FlyvisTuning
import Foundation
import Testing

/// Correlations and angular distances against the known tuning, on indices made by hand.
@Suite struct TuningCorrelationTests {
    /// flyvis's 65 cell types, in its order.
    static let types = KnownTuning.polarity.map(\.cellType)

    @Test func groundTruthTables() {
        #expect(Self.types.count == 65 && Set(Self.types).count == 65)
        #expect(KnownTuning.knownPolarity.count == 32)
        #expect(KnownTuning.knownDSITypes.count == 18 && Set(KnownTuning.knownDSITypes).isSubset(of: Set(Self.types)))
        #expect(KnownTuning.preferredDirections.map(\.cellType) == ["T4a", "T4b", "T4c", "T4d", "T5a", "T5b", "T5c", "T5d"])
    }

    /// FRIs equal to the known polarities (any values for the unknown types) correlate 1, their
    /// negation −1, an affine image 1; NaN on a known type drops that pair only.
    @Test func friCorrelation() throws {
        let polarity = Dictionary(uniqueKeysWithValues: KnownTuning.polarity.map { ($0.cellType, Double($0.polarity)) })
        let exact = Self.types.enumerated().map { i, t in polarity[t]! != 0 ? polarity[t]! : Double(i % 7) / 7 - 0.5 }
        let one = try TuningCorrelation.friCorrelationToKnown(fri: exact, cellTypes: Self.types)
        #expect(abs(one - 1) <= 1e-12, "\(one)")
        let minusOne = try TuningCorrelation.friCorrelationToKnown(fri: exact.map { -$0 }, cellTypes: Self.types)
        #expect(abs(minusOne + 1) <= 1e-12, "\(minusOne)")
        let affine = try TuningCorrelation.friCorrelationToKnown(fri: exact.map { 0.3 * $0 + 0.1 }, cellTypes: Self.types)
        #expect(abs(affine - 1) <= 1e-12, "\(affine)")
        var gap = exact
        gap[Self.types.firstIndex(of: "Mi9")!] = .nan
        let withGap = try TuningCorrelation.friCorrelationToKnown(fri: gap, cellTypes: Self.types)
        #expect(abs(withGap - 1) <= 1e-12, "\(withGap)")
    }

    /// A model that never responds has FRI 0 everywhere: the correlation is 0/0 = NaN, as in
    /// flyvis, not a trap.
    @Test func degenerateCorrelationIsNaN() throws {
        let zero = [Double](repeating: 0, count: 65)
        #expect(try TuningCorrelation.friCorrelationToKnown(fri: zero, cellTypes: Self.types).isNaN)
        let dsi = TuningByIntensity(cellTypes: Self.types, intensity: [0, 1], values: [Double](repeating: 0, count: 130))
        #expect(try TuningCorrelation.dsiCorrelationToKnown(dsi: dsi).isNaN)
    }

    @Test func friCorrelationNeedsEveryKnownType() {
        var types = Self.types
        types[types.firstIndex(of: "T4a")!] = "T4x"
        #expect(throws: TuningError.cellType("T4a", count: 0)) {
            try TuningCorrelation.friCorrelationToKnown(fri: [Double](repeating: 0, count: 65), cellTypes: types)
        }
        #expect(throws: TuningError.shape(what: "FRI", expected: 65, found: 64)) {
            try TuningCorrelation.friCorrelationToKnown(fri: [Double](repeating: 0, count: 64), cellTypes: Self.types)
        }
    }

    /// T4 selective at intensity 1 only and T5 at intensity 0 only (the maximum over intensity
    /// counts), non-selective known types at 0.2, unknown types anything: the known DSIs are an
    /// affine image of the truth, correlation 1.
    @Test func dsiCorrelationOne() throws {
        var values = [Double]()
        for (i, t) in Self.types.enumerated() {
            if t.hasPrefix("T4") {
                values += [0, 0.9]
            } else if t.hasPrefix("T5") {
                values += [0.9, 0.1]
            } else if KnownTuning.noMotionTuning.contains(t) {
                values += [0.2, 0.1]
            } else {
                values += [Double(i % 5) / 5, 0.7]
            }
        }
        let dsi = TuningByIntensity(cellTypes: Self.types, intensity: [0, 1], values: values)
        let corr = try TuningCorrelation.dsiCorrelationToKnown(dsi: dsi)
        #expect(abs(corr - 1) <= 1e-12, "\(corr)")
    }

    /// Only the known types present enter: T4a, T4b, Mi1, Tm3 (plus an unknown L1) with
    /// per-cell maxima x = (1, 0.5, 0.5, 0) against truth y = (1, 1, 0, 0): deviations
    /// x − 0.5 = (0.5, 0, 0, −0.5), y − 0.5 = (0.5, 0.5, −0.5, −0.5); cov = 0.5/4, var x = 0.5/4,
    /// var y = 1/4; r = 0.125/(√0.125·0.5) = 1/√2.
    @Test func dsiCorrelationByHand() throws {
        let dsi = TuningByIntensity(
            cellTypes: ["T4a", "L1", "T4b", "Mi1", "Tm3"], intensity: [0, 1],
            values: [0.2, 1, 0.9, 0.9, 0.5, 0.1, 0.3, 0.5, 0, 0])
        let corr = try TuningCorrelation.dsiCorrelationToKnown(dsi: dsi)
        #expect(abs(corr - 1 / 2.0.squareRoot()) <= 1e-12, "\(corr)")
        let three = TuningByIntensity(cellTypes: ["T4a"], intensity: [0, 0.5, 1], values: [0, 0, 0])
        #expect(throws: TuningError.self) { try TuningCorrelation.dsiCorrelationToKnown(dsi: three) }
    }

    /// Preferred directions equal to the known ones (T4d given as −π/2, i.e. 270° mod 2π) at
    /// the intensity that counts and opposite at the other: distances 0. Then T4a at 0 instead
    /// of π (distance π) and T5b at 350° instead of 0 (distance 10°, the short way round).
    @Test func angularDistances() throws {
        let pi = Double.pi
        let known: [String: Double] = [
            "T4a": pi, "T4b": 0, "T4c": pi / 2, "T4d": -pi / 2,
            "T5a": pi, "T5b": 0, "T5c": pi / 2, "T5d": 3 * pi / 2,
        ]
        func table(_ overrides: [String: Double]) -> TuningByIntensity {
            var values = [Double]()
            for t in Self.types {
                let d = overrides[t] ?? known[t] ?? 1.0
                // Column 0 is intensity 0 (T5's), column 1 intensity 1 (T4's).
                values += t.hasPrefix("T4") ? [d + pi, d] : [d, d + pi]
            }
            return TuningByIntensity(cellTypes: Self.types, intensity: [0, 1], values: values)
        }
        let zero = try TuningCorrelation.angularDistanceToKnown(preferredDirection: table([:]))
        #expect(maxAbsDiff(zero, [Double](repeating: 0, count: 8)) <= 1e-12, "\(zero)")
        let off = try TuningCorrelation.angularDistanceToKnown(preferredDirection: table(["T4a": 0, "T5b": 350 * pi / 180]))
        #expect(maxAbsDiff(off, [pi, 0, 0, 0, 0, 10 * pi / 180, 0, 0]) <= 1e-12, "\(off)")
        let onlyOn = TuningByIntensity(cellTypes: Self.types, intensity: [1], values: [Double](repeating: 0, count: 65))
        #expect(throws: TuningError.missingIntensity(0, needed: "the angular distance of T5a")) {
            try TuningCorrelation.angularDistanceToKnown(preferredDirection: onlyOn)
        }
    }
}
