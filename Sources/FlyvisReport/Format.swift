import Foundation

/// Number formats used on the page.
enum Format {
    /// A tick or table value: up to four significant digits, exponents for very small or large.
    static func value(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? "NaN" : (v > 0 ? "∞" : "−∞") }
        if v == 0 { return "0" }
        let a = abs(v)
        let s = a >= 1e5 || a < 1e-3 ? String(format: "%.3g", v) : String(format: "%.4g", v)
        return s.replacingOccurrences(of: "e+0", with: "e").replacingOccurrences(of: "e-0", with: "e-")
            .replacingOccurrences(of: "e+", with: "e")
    }

    /// An iteration count: 250000 → "250k", 1500000 → "1.5M".
    static func count(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e6 { return trim(v / 1e6) + "M" }
        if a >= 1e4 { return trim(v / 1e3) + "k" }
        return trim(v)
    }

    private static func trim(_ v: Double) -> String {
        let s = String(format: "%.2f", v)
        var t = Substring(s)
        while t.contains("."), t.last == "0" { t = t.dropLast() }
        if t.last == "." { t = t.dropLast() }
        return String(t)
    }

    /// A pixel coordinate with one decimal, without the allocation-heavy `String(format:)`
    /// (the page formats tens of thousands of them).
    static func px(_ v: Double) -> String {
        let tenths = Int((v * 10).rounded())
        let whole = tenths / 10, frac = abs(tenths % 10)
        let sign = tenths < 0 && whole == 0 ? "-" : ""
        return frac == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(frac)"
    }

    /// An integer number of tenths as a decimal ("12.3", "-4", and ".5"/"-.5" without the zero).
    static func tenths(_ t: Int, leadingZero: Bool = true) -> String {
        let whole = abs(t) / 10, frac = abs(t) % 10
        let sign = t < 0 ? "-" : ""
        if frac == 0 { return sign + String(whole) }
        return sign + (whole == 0 && !leadingZero ? "" : String(whole)) + "." + String(frac)
    }

    static func duration(_ s: TimeInterval) -> String {
        let t = Int(s.rounded())
        if t >= 86_400 { return "\(t / 86_400) d \(t % 86_400 / 3600) h" }
        if t >= 3600 { return "\(t / 3600) h \(String(format: "%02d", t % 3600 / 60)) min" }
        if t >= 60 { return "\(t / 60) min \(String(format: "%02d", t % 60)) s" }
        return "\(t) s"
    }

    static func rate(_ v: Double) -> String { v >= 100 ? String(format: "%.0f", v) : String(format: "%.2f", v) }
}

/// Escapes text for XML character data and attribute values, and replaces the control
/// characters XML 1.0 forbids (an error message may carry anything).
func esc(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for u in s.unicodeScalars {
        switch u {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        case "\t", "\n", "\r": out.unicodeScalars.append(u)
        default:
            if u.value < 0x20 || (0xFFFE...0xFFFF).contains(u.value) { out += "\u{FFFD}" } else { out.unicodeScalars.append(u) }
        }
    }
    return out
}
