import FlyvisResults
import Foundation

/// Why a path is not an ensemble directory that the summary or the report can read. A member
/// whose files cannot be read does not stop either: its row names the problem.
package enum EnsembleDirectoryError: Error, CustomStringConvertible, Equatable {
    case missingDirectory(path: String)
    case notADirectory(path: String)
    case noMembers(path: String)
    case notNumbered(path: String)

    package var description: String {
        switch self {
        case let .missingDirectory(path):
            return "ensemble directory '\(path)' does not exist; pass <root>/results/<task>/<EEEE>, e.g. $FLYVIS_ROOT_DIR/results/flow/0045"
        case let .notADirectory(path):
            return "'\(path)' is a file, not an ensemble directory; pass the directory that holds the members 000, 001, ..."
        case let .noMembers(path):
            return
                "no member directories (000, 001, ...) in '\(path)'; pass the ensemble directory itself, not the task directory or a member"
        case let .notNumbered(path):
            return "'\(path)' is not an ensemble directory: expected <root>/results/<task>/<EEEE> with a numeric last part"
        }
    }

    /// Checks that `directory` exists and is a directory.
    package static func check(_ directory: ResultsDirectory) throws(EnsembleDirectoryError) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir) else {
            throw .missingDirectory(path: directory.path)
        }
        guard isDir.boolValue else { throw .notADirectory(path: directory.path) }
    }
}
