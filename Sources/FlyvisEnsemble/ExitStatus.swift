/// The exit status of every command and of the ensemble job (the same on every rank): one
/// vocabulary, as the README's table gives it.
package enum ExitStatus: Int32, Sendable {
    case success = 0
    /// An error (one `Error: …` line on stderr), or, for an ensemble, a member failed (named).
    case failure = 1
    /// An ensemble whose config or member overrides are invalid: no member was started.
    case invalidEnsembleConfig = 2
    /// A usage error: an unknown subcommand or option, a bad environment (EX_USAGE, what
    /// ArgumentParser exits with for a validation failure).
    case usage = 64
    /// EX_TEMPFAIL: stopped by SIGTERM/SIGUSR1 after checkpointing; rerun or requeue to resume.
    case interrupted = 75
}
