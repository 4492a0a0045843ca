import FlyvisConnectome
import FlyvisHDF5
import FlyvisNetwork
import FlyvisTestSupport
import Foundation

/// The golden file from flyvis 1.2.0 (Tests/Fixtures), or the one named by FLYVIS_REFERENCE.
enum Reference {
    static var path: String { Fixtures.network.path }
    static func open() throws -> HDF5File { try Fixtures.open(Fixtures.network) }

    static let connectome = Result { try Connectome() }

    /// The network with the golden perturbed parameters.
    static func network() throws -> Network {
        let c = try connectome.get()
        let ref = try open()
        var p = try NetworkParameters(connectome: c)
        for name in ParameterName.allCases { try p.set(name, try ref.read("params/\(name)").values) }
        return try Network(connectome: c, parameters: p)
    }
}
