import FlyvisHex
import Foundation

/// Inclusive-prefix sums in double, for O(1) box sums.
struct SummedAreaTable {
    let table: [Double]
    let height: Int, width: Int

    init(_ image: [Float], height: Int, width: Int) {
        self.height = height
        self.width = width
        var t = [Double](repeating: 0, count: (height + 1) * (width + 1))
        for y in 0..<height {
            var row = 0.0
            for x in 0..<width {
                row += Double(image[y * width + x])
                t[(y + 1) * (width + 1) + x + 1] = t[y * (width + 1) + x + 1] + row
            }
        }
        table = t
    }

    /// Sum over the intersection of the box with the image (outside counts as zero padding).
    func sum(rows: ClosedRange<Int>, cols: ClosedRange<Int>) -> Double {
        let y0 = max(rows.lowerBound, 0), y1 = min(rows.upperBound, height - 1)
        let x0 = max(cols.lowerBound, 0), x1 = min(cols.upperBound, width - 1)
        guard y0 <= y1, x0 <= x1 else { return 0 }
        let w = width + 1
        return table[(y1 + 1) * w + x1 + 1] - table[y0 * w + x1 + 1] - table[(y1 + 1) * w + x0] + table[y0 * w + x0]
    }
}
