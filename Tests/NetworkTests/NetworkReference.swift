import FlyvisHDF5
import FlyvisTestSupport
import Foundation

/// The golden file from flyvis 1.2.0 (Tests/Fixtures), or the one named by FLYVIS_REFERENCE.
enum Reference {
    static var path: String { Fixtures.network.path }
    static func open() throws -> HDF5File { try Fixtures.open(Fixtures.network) }
}
