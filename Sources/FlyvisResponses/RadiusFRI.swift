import FlyvisBase
import FlyvisHDF5
import FlyvisResults
import Foundation

/// One flash radius's FRIs, (member, cell type).
package struct RadiusFRI: Sendable, Equatable {
    package var radius: Double
    package var values: [Double]

    package init(radius: Double, values: [Double]) {
        self.radius = radius
        self.values = values
    }
}
