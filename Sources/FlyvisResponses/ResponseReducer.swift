import FlyvisConnectome
import FlyvisMPI
import FlyvisResults
import FlyvisSolver
import FlyvisStimuli
import Foundation

/// Condenses one member's central responses to one stimulus set while they stream past (the
/// whole set is never kept), into the numbers the tuning indices need.
package protocol ResponseReducer {
    /// Length of `result()`, the same on every rank (ranks without a member send NaN).
    var resultCount: Int { get }
    mutating func add(samples: Range<Int>, values: [Float], cells: CellCoordinates) throws
    func result() throws -> [Double]
}
