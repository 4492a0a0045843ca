import Foundation
import FlyvisHDF5
import FlyvisConnectome
import FlyvisNetwork

/// The golden file from flyvis 1.2.0 (Tests/Fixtures), or the one named by FLYVIS_REFERENCE.
enum Reference {
    static var path: String {
        if let p = ProcessInfo.processInfo.environment["FLYVIS_REFERENCE"], !p.isEmpty { return p }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/flyvis-1.2.0-seed0.h5").path
    }
    static func open() throws -> HDF5File { try HDF5File(path: path, mode: .readOnly) }

    static let connectome = Result { try Connectome() }

    /// The network with the golden perturbed parameters.
    static func network() throws -> Network {
        let c = try connectome.get()
        let ref = try open()
        var p = try NetworkParameters(connectome: c)
        for name in NetworkParameters.names { try p.set(name, try ref.read("params/\(name)").values) }
        return try Network(connectome: c, parameters: p)
    }
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }
func maxAbs(_ a: [Float]) -> Float { a.map { abs($0) }.max() ?? 0 }
