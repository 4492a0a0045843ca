import CLibPNG
import Foundation

/// Problems with data files and folders, each naming the file and the fix.
package enum DataError: Error, CustomStringConvertible, Equatable {
    case missingFolder(path: String, hint: String)
    case unreadable(path: String, reason: String)
    case badFlowMagic(path: String, found: Float)
    case frameCountMismatch(scene: String, frames: Int, flows: Int)
    case sizeMismatch(path: String, expected: String, found: String)
    case tooFewFrames(needed: Int, available: Int)
    case invalidConfig(key: String, problem: String)
    case emptyDataset(String)
    /// A stop request (SIGTERM/SIGUSR1) arrived while the data set was being prepared.
    case stopRequested

    package var description: String {
        switch self {
        case let .missingFolder(path, hint): return "missing folder '\(path)': \(hint)"
        case let .unreadable(path, reason): return "cannot read '\(path)': \(reason)"
        case let .badFlowMagic(path, found):
            return "'\(path)' is not a Middlebury .flo file (tag \(found), expected 202021.25); re-extract the Sintel flow files"
        case let .frameCountMismatch(scene, frames, flows):
            return
                "Sintel scene '\(scene)' has \(frames) PNG frames but \(flows) .flo files (expected \(max(frames - 1, 0))); the copy is incomplete"
        case let .sizeMismatch(path, expected, found):
            return "'\(path)' has size \(found), expected \(expected)"
        case let .tooFewFrames(needed, available):
            return "a sample needs \(needed) frames but the sequence has \(available); lower task.dataset.n_frames"
        case let .invalidConfig(key, problem): return "task.dataset.\(key): \(problem)"
        case let .emptyDataset(why): return "the dataset is empty: \(why)"
        case .stopRequested:
            return "stopped on request while the data set was being prepared; nothing was trained or cached, rerun to continue"
        }
    }
}
