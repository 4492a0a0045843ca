import Foundation

/// Maps data values to pixels, linearly or on log10, with tick positions for the axis.
struct Scale {
    var lo: Double
    var hi: Double
    var log: Bool
    /// Pixel positions of `lo` and `hi` (for a y axis `from` is the bottom).
    var from: Double
    var to: Double
    var ticks: [Double]

    /// Losses spanning more than this factor get a log axis, so a diverging member does not
    /// flatten every other curve into the baseline.
    static let logRatio = 30.0

    func callAsFunction(_ v: Double) -> Double {
        let t =
            log
            ? (Foundation.log10(v) - Foundation.log10(lo)) / (Foundation.log10(hi) - Foundation.log10(lo))
            : (v - lo) / (hi - lo)
        return from + t * (to - from)
    }

    /// Inverse of the map (pixel to value).
    func value(atPixel p: Double) -> Double {
        let t = (p - from) / (to - from)
        return log ? pow(10, Foundation.log10(lo) + t * (Foundation.log10(hi) - Foundation.log10(lo))) : lo + t * (hi - lo)
    }

    /// A scale covering `values` (non-finite ones ignored) with round tick values at both ends.
    /// `allowLog` picks log10 when every value is positive and they span more than `logRatio`;
    /// `zero` includes 0 in a linear domain (bar charts, counts); `exact` keeps the domain at the
    /// values' range (ticks only inside it), for axes other code has already binned against.
    static func fit(
        _ values: [Double], from: Double, to: Double, allowLog: Bool = false, zero: Bool = false,
        integerTicks: Bool = false, exact: Bool = false
    ) -> Scale {
        let finite = values.filter(\.isFinite)
        var lo = finite.min() ?? 0, hi = finite.max() ?? 1
        if allowLog, lo > 0, hi / lo > logRatio {
            let a = Foundation.log10(lo).rounded(.down), b = Foundation.log10(hi).rounded(.up)
            let decades = Int(b - a)
            let every = max(1, Int((Double(decades) / 6).rounded(.up)))
            let ticks = stride(from: Int(a), through: Int(b), by: every).map { pow(10, Double($0)) }
            return Scale(lo: pow(10, a), hi: pow(10, b), log: true, from: from, to: to, ticks: ticks)
        }
        if zero { lo = min(lo, 0); hi = max(hi, 0) }
        if hi - lo <= 0 {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= zero && lo == 0 ? 0 : pad
            hi += pad
        }
        var step = niceStep((hi - lo) / 5)
        if integerTicks { step = max(1, step.rounded(.up)) }
        if exact {
            let a = (lo / step - 1e-9).rounded(.up), b = (hi / step + 1e-9).rounded(.down)
            let ticks = a <= b ? stride(from: a, through: b + 0.5, by: 1).map { $0 * step } : []
            return Scale(lo: lo, hi: hi, log: false, from: from, to: to, ticks: ticks)
        }
        let a = (lo / step).rounded(.down), b = (hi / step).rounded(.up)
        let ticks = stride(from: a, through: b + 0.5, by: 1).map { $0 * step }
        return Scale(lo: a * step, hi: b * step, log: false, from: from, to: to, ticks: ticks)
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let p = pow(10, Foundation.log10(raw).rounded(.down))
        for m in [1.0, 2, 5, 10] where m * p >= raw * 0.999_999 { return m * p }
        return 10 * p
    }
}
