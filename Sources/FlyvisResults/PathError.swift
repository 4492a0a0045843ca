import Foundation

/// Why a results path was refused, each naming the value and the form that is expected.
package enum PathError: Error, CustomStringConvertible, Equatable {
    case invalidTaskName(String)
    case invalidNetworkID(String)
    case invalidNetworkName(String)
    case outsideResults(path: String, results: String)
    case notNetworkDirectory(path: String)
    case notADirectory(path: String)

    package var description: String {
        switch self {
        case let .invalidTaskName(v):
            return
                "task_name '\(v)' is not one path component; use a plain name such as flow (letters, digits, '_', '-', '.'; no '/', no '..')"
        case let .invalidNetworkID(v):
            return
                "ensemble_and_network_id '\(v)' is not of the form EEEE/NNN (4-digit ensemble id, '/', 3-digit network id, as flyvis names them), e.g. 0045/003"
        case let .invalidNetworkName(v):
            return
                "network_name '\(v)' must be a relative path inside the results folder without '.', '..' or empty components; leave it at its default ${task_name}/${ensemble_and_network_id}"
        case let .outsideResults(path, results):
            return "the results path '\(path)' lies outside '\(results)'; check task_name, ensemble_and_network_id and network_name"
        case let .notNetworkDirectory(path):
            return
                "delete_if_exists=true refuses to delete '\(path)': it is not a network directory (no _meta.yaml with 'type: NetworkDir'); remove it by hand if that is what you want"
        case let .notADirectory(path):
            return
                "'\(path)' exists but is not a directory, so no results can be written below it; move it away or choose another --root/task_name"
        }
    }
}
