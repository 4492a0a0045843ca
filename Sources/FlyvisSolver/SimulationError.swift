import FlyvisBase
import FlyvisConnectome
import FlyvisHDF5
import FlyvisNetwork
import FlyvisResults
import Foundation

/// A problem with `simulate`'s input files: one line naming the file and what is wrong.
package struct SimulationError: Error, CustomStringConvertible, Equatable {
    package let description: String
    package init(_ description: String) { self.description = description }
}
