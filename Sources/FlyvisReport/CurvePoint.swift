import Foundation

/// A point of a curve in data coordinates.
package struct CurvePoint: Sendable, Equatable {
    package var x: Double
    package var y: Double
    package init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}
