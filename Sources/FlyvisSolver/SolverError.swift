import FlyvisConfig
import FlyvisConnectome
import FlyvisData
import FlyvisHDF5
import FlyvisNetwork
import FlyvisRandom
import FlyvisResults
import FlyvisTask
import FlyvisTraining
import Foundation

/// Training failures the solver reports as such (everything else is a config/data/IO error).
package enum SolverError: Error, CustomStringConvertible, Equatable {
    /// flyvis raises OverflowError("Invalid values encountered in trace.").
    case overflow(iteration: Int, what: String)
    case directoryExists(path: String, checkpoints: Int)
    case incompatibleConfig(path: String, differences: [String])
    case invalidSplit(String)
    case shapeMismatch(source: String, key: String, stored: [Int], expected: [Int])
    case notANetworkDirectory(path: String, reason: String)
    /// A stop request arrived before training started (while the data set was prepared).
    case stopRequested

    package var description: String {
        switch self {
        case let .overflow(iteration, what):
            return
                "OverflowError: invalid values encountered in trace (\(what) at iteration \(iteration)); every earlier checkpoint is intact — lower the learning rates or check the config"
        case let .directoryExists(path, n):
            return
                "network directory '\(path)' already holds \(n) checkpoint(s); pass resume=true to continue it or delete_if_exists=true to start over"
        case let .incompatibleConfig(path, diffs):
            return "cannot resume '\(path)': the config differs from the stored one in\n  " + diffs.joined(separator: "\n  ")
                + "\n(only task.n_iters and description may change on resume; use a new ensemble_and_network_id otherwise)"
        case let .invalidSplit(why): return "cannot split the data set: \(why)"
        case .stopRequested:
            return "stopped on request before training started; nothing was trained, rerun to continue"
        case let .notANetworkDirectory(path, reason):
            return "'\(path)' is not a network directory (\(reason)); pass <root>/results/<task>/<EEEE>/<NNN>"
        case let .shapeMismatch(source, key, stored, expected):
            return
                "'\(source)' does not fit this config: \(key) has shape \(stored), the config's model needs \(expected) (check network.connectome.extent and task.decoder against the directory's _meta.yaml)"
        }
    }
}

extension SolverError: MemberRefusal {
    package var leavesMemberUntouched: Bool {
        switch self {
        case .incompatibleConfig, .directoryExists: return true
        default: return false
        }
    }
}

/// A config error is the command's, not the member's (a mistyped --member-override, say): the
/// member keeps the state it had, so a corrected rerun trains it without --retry-failed.
extension ConfigError: MemberRefusal {
    package var leavesMemberUntouched: Bool { true }
}
