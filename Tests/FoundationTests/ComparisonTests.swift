import FlyvisTestSupport
import Testing

/// The shared comparison helpers must fail on a missing, short or empty output, or a reference
/// test could pass whatever the code produced.
@Suite struct ComparisonTests {
    @Test func truncatedEmptyOrNaNOutputFailsTheComparison() {
        let reference: [Float] = [1, 2, 3, 4]
        #expect(maxAbsDiff(reference, reference) == 0)
        #expect(maxAbsDiff([1, 2, 3.5, 4], reference) == 0.5)
        #expect(!(maxAbsDiff(Array(reference.prefix(2)), reference) <= 1e-5), "a truncated output passed")
        #expect(!(maxAbsDiff([], reference) <= 1e-5), "an empty output passed")
        #expect(!(maxAbsDiff([], [Float]()) <= 1e-5), "two empty arrays passed")
        #expect(!(maxAbsDiff([1, .nan, 3, 4], reference) <= 1e-5), "a NaN passed")
        #expect(!(maxAbsDiff([1.0, 2.0], reference) <= 1e-5), "a short double output passed")
        #expect(!allClose(Array(reference.prefix(3)), reference) { $0 == $1 })
        #expect(!allClose([Float](), [Float]()) { $0 == $1 })
        // A relative tolerance on an empty reference stays finite, so the comparison still fails.
        #expect(!(maxAbsDiff([Float](), []) <= 1e-5 * max(1, maxAbs([]))))
    }
}
