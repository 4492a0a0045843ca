/// flyvis's flags that say what a run does rather than what it trains: they come from the
/// command line, are never taken from a stored `_meta.yaml` (flyvis stores
/// `delete_if_exists: true`, which must not wipe a resume) and may differ on resume.
package enum RunFlag: String, CaseIterable, Sendable {
    case deleteIfExists = "delete_if_exists"
    case resume
    case train
    case checkpointOnly = "checkpoint_only"
    case overfit

    /// The config key.
    package var key: String { rawValue }
}
