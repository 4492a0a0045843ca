import Foundation
import FlyvisHDF5

/// The golden file from flyvis 1.2.0 (Tests/Fixtures), or the one named by FLYVIS_REFERENCE.
enum Reference {
    static var path: String {
        if let p = ProcessInfo.processInfo.environment["FLYVIS_REFERENCE"], !p.isEmpty { return p }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/flyvis-1.2.0-seed0.h5").path
    }

    static func open() throws -> HDF5File { try HDF5File(path: path, mode: .readOnly) }
}
