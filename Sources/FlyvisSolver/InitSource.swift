import FlyvisResults
import Foundation

/// `--init-from DIR[:best|last|N]`: the trained model a new run starts from (a network
/// directory, ours or flyvis's, and which of its checkpoints; `best` by default).
package struct InitSource: Sendable, Equatable {
    package var directory: ResultsDirectory
    package var checkpoint: CheckpointSelector

    package init(directory: ResultsDirectory, checkpoint: CheckpointSelector) {
        self.directory = directory
        self.checkpoint = checkpoint
    }

    /// Parses `DIR`, `DIR:best`, `DIR:last` or `DIR:N`; the directory must hold `chkpts/`.
    package static func parse(_ text: String) throws(SolverError) -> InitSource {
        var path = text, selector = CheckpointSelector.best
        if let colon = text.lastIndex(of: ":"), let s = CheckpointSelector(String(text[text.index(after: colon)...])) {
            path = String(text[..<colon])
            selector = s
        }
        let dir = ResultsDirectory(URL(fileURLWithPath: (path as NSString).expandingTildeInPath).standardizedFileURL)
        guard FileManager.default.fileExists(atPath: dir.url.appendingPathComponent(CheckpointSchema.folder).path) else {
            throw .notANetworkDirectory(path: path, reason: "it has no \(CheckpointSchema.folder)/; give it as DIR[:best|last|N]")
        }
        return InitSource(directory: dir, checkpoint: selector)
    }
}
