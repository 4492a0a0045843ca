import FlyvisHDF5
import FlyvisReport
import FlyvisResults
import Foundation

/// Why no report could be written. A member whose files cannot be read does not stop the
/// report: the page shows the problem in that member's row.
package enum ReportError: Error, CustomStringConvertible, Equatable {
    case missingDirectory(path: String)
    case notADirectory(path: String)
    case noMembers(path: String)

    package var description: String {
        switch self {
        case let .missingDirectory(path):
            return "ensemble directory '\(path)' does not exist; pass <root>/results/<task>/<EEEE>, e.g. $FLYVIS_ROOT_DIR/results/flow/0045"
        case let .notADirectory(path):
            return "'\(path)' is a file, not an ensemble directory; pass the directory that holds the members 000, 001, ..."
        case let .noMembers(path):
            return "no member directories (000, 001, ...) in '\(path)'; pass the ensemble directory itself, not the task directory or a member"
        }
    }
}
