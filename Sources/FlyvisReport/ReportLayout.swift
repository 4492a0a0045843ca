import Foundation

/// Geometry of the plots. The curve plots' drawing area is `curveColumns` pixels wide, and
/// loaders reduce training curves to that many columns.
package enum ReportLayout {
    static let width = 900.0, height = 340.0
    static let left = 78.0, right = 14.0, top = 14.0, bottom = 52.0
    package static let curveColumns = Int(width - left - right)
}
