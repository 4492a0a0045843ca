/// The overrides of a run that takes seconds: an extent-4 network (4 rings of hexals), the
/// built-in data set with 8 scenes at the same extent, batch 2. The one copy every test
/// that trains shares.
package enum TinyConfig {
    /// `checkpointEveryEpoch` is `scheduler.chkpt_every_epoch`; `learningRate`, when given,
    /// replaces both starting learning rates (flyvis's are tuned for full-size runs).
    package static func overrides(checkpointEveryEpoch: Int = 1, learningRate: String? = "1e-3") -> [String] {
        [
            "network.connectome.extent=4", "task.dataset.boxfilter.extent=4", "task.dataset.builtin.scenes=8",
            "task.batch_size=2", "scheduler.chkpt_every_epoch=\(checkpointEveryEpoch)",
        ]
            + (learningRate.map { ["scheduler.lr_net.start=\($0)", "scheduler.lr_dec.start=\($0)"] } ?? [])
    }
}
