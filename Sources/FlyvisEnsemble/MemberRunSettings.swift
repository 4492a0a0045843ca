import FlyvisSolver
import Foundation

/// How members are run, whatever command starts them: where results go, the config
/// directories, threads, progress interval, whether to validate after training and which
/// model a new run starts from.
package struct MemberRunSettings: Sendable {
    /// `<root>`, holding `results/` and `renderings/`.
    package var root: URL
    package var configDirs: [URL] = []
    package var threads = 1
    package var progressInterval: TimeInterval = 30
    /// Skip flyvis's post-training validation (l2norm and epe of every checkpoint).
    package var skipValidation = false
    package var initFrom: InitSource?
    /// Compute the member's tuning readout (flyvis's flashes and moving edges at its best
    /// checkpoint: FRI, DSI, correlations to known tuning) after the post-training validation.
    package var tuning = true

    package init(root: URL) { self.root = root }
}
