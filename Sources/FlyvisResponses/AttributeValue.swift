import FlyvisBase
import FlyvisHDF5
import FlyvisMPI
import FlyvisResults
import Foundation

/// A numeric or text attribute (flyvis's analysis files store every stimulus parameter as a
/// `config_*` attribute).
package enum AttributeValue: Sendable, Equatable {
    case number(Double)
    case numbers([Double])
    case text(String)
}
