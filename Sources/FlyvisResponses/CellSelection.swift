import FlyvisConnectome
import Foundation

/// Which cells a readout records (`--cells`).
package enum CellSelection: Sendable, Equatable {
    case central
    case all
    case types([String])

    /// "central", "all" or "T4a,T5a,…".
    package init(parsing text: String) throws(ResponsesError) {
        switch text {
        case "central": self = .central
        case "all": self = .all
        default:
            let names = text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            guard !names.isEmpty, !names.contains("") else {
                throw .invalidParameter("--cells '\(text)': use central, all, or comma-separated cell types such as T4a,T5a")
            }
            self = .types(names)
        }
    }
}
