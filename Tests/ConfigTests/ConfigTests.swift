import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisConfig

@Suite struct ConfigTests {
    let base = ["task_name=flow", "ensemble_and_network_id=0045/000"]

    @Test func defaultsMirrorFlyvis() throws {
        let c = try Config.load(overrides: base)
        #expect(try c.string("network_name") == "flow/0045/000")
        #expect(try c.double("task.dataset.dt") == 0.02)
        #expect(try c.int("task.n_iters") == 250_000)
        #expect(try c.string("network.connectome.file") == "fib25-fib19_v2.2.json")
        #expect(try c.int("network.connectome.extent") == 15)
        #expect(try c.double("optim.optim_net.lr") == 5e-5, "optim lr interpolates scheduler.lr_net.start")
        #expect(try c.double("scheduler.lr_pen.stop") == 5e-6)
        #expect(try c.int("network.node_config.bias.seed") == 0, "bias seed follows the top-level seed")
        #expect(try c.list("task.decoder.flow.shape") == [.int(8), .int(2)])
        #expect(c.value("task.dataset.gamma_std") == .null)
        #expect(try c.int("scheduler.chkpt_every_epoch") == 300)
        #expect(c.root.keys.prefix(3) == ["ensemble_and_network_id", "task_name", "train"])
    }

    @Test func everyOverrideForm() throws {
        let c = try Config.load(
            overrides: base + [
                "task.n_iters=1000", "task.dataset.dt=0.01", "+extra.key=3", "++task.batch_size=2", "++brand.new=[a,b]",
                "~task.dataset.gamma_std", "description='a test run'", "task.dataset.flip_axes=[0,1]",
                "task.dataset.sintel_path=null", "train=false", "task.dataset.augment=true", "seed=7",
                "task.n_iters=2000",  // last wins
            ])
        #expect(try c.int("task.n_iters") == 2000)
        #expect(try c.double("task.dataset.dt") == 0.01)
        #expect(try c.int("extra.key") == 3)
        #expect(try c.int("task.batch_size") == 2)
        #expect(try c.list("brand.new") == [.string("a"), .string("b")])
        #expect(!c.contains("task.dataset.gamma_std"))
        #expect(try c.string("description") == "a test run")
        #expect(try c.list("task.dataset.flip_axes") == [.int(0), .int(1)])
        #expect(try c.bool("train") == false)
        #expect(try c.int("network.node_config.bias.seed") == 7)
        #expect(try c.string("ensemble_and_network_id") == "0045/000", "leading zeros stay a string")
        let z = try Config.load(overrides: ["task_name=flow", "ensemble_and_network_id=0045"])
        #expect(z.value("ensemble_and_network_id") == .string("0045"))
        let seven = try Config.load(overrides: ["task_name=flow", "ensemble_and_network_id=7"])
        #expect(seven.value("ensemble_and_network_id") == .int(7))
        #expect(try seven.string("network_name") == "flow/7")
    }

    @Test func interpolationAndCycles() throws {
        let c = try Config.load(
            overrides: base + ["++a=${task.batch_size}", "++b=run_${task_name}_${task.batch_size}", "scheduler.lr_net.start=0.001"])
        #expect(c.value("a") == .int(4))
        #expect(c.value("b") == .string("run_flow_4"))
        #expect(try c.double("optim.optim_net.lr") == 0.001)
        #expect(throws: ConfigError.self) { _ = try Config.load(overrides: base + ["++x=${y}", "++y=${x}"]) }
        #expect(throws: ConfigError.self) { _ = try Config.load(overrides: base + ["++x=${nope.missing}"]) }
    }

    @Test func errorsNameTheKeyAndAllowedValues() throws {
        func message(_ o: [String]) -> String {
            do { _ = try Config.load(overrides: base + o); return "" } catch { return error.description }
        }
        #expect(message(["task.n_itters=5"]).contains("task.n_itters"))
        #expect(message(["task.n_itters=5"]).contains("+task.n_itters"))
        #expect(message(["+task.n_iters=5"]).contains("already exists"))
        #expect(message(["task.dataset.dt=-0.02"]).contains("task.dataset.dt"))
        #expect(message(["task.n_iters=0"]).contains("≥ 1"))
        #expect(message(["task.n_iters=lots"]).contains("integer"))
        #expect(message(["~not.there"]).contains("not.there"))
        #expect(message(["novalue"]).contains("key=value"))
        #expect(message(["network=nonexistent"]).contains("network"))
        // ??? values are reported when read.
        let c = try Config.load()
        #expect(throws: ConfigError.missingValue(key: "task_name")) { _ = try c.string("task_name") }
        // A string built from a missing value is missing too (no "???/0009/000" directories).
        let partial = try Config.load(overrides: ["ensemble_and_network_id=0009/000"])
        #expect(throws: ConfigError.missingValue(key: "network_name")) { _ = try partial.string("network_name") }
    }

    @Test func configDirReplacesAGroup() throws {
        let dir = try temporaryDirectory()
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("scheduler"), withIntermediateDirectories: true)
        try """
        lr_net: {function: linear, start: 1.0e-3, stop: 1.0e-4, steps: 1}
        lr_dec: {function: linear, start: 1.0e-3, stop: 1.0e-4, steps: 1}
        chkpt_every_epoch: 5
        """.write(to: dir.appendingPathComponent("scheduler/fast.yaml"), atomically: true, encoding: .utf8)
        try
            "lr_net: {function: exponential, start: 2.0e-3, stop: 1.0e-5, steps: 1}\nlr_dec: {function: linear, start: 1.0e-3, stop: 1.0e-4, steps: 1}\nchkpt_every_epoch: 7\n"
            .write(to: dir.appendingPathComponent("scheduler/scheduler.yaml"), atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: dir) }
        let fast = try Config.load(overrides: base + ["scheduler=fast"], configDirs: [dir])
        #expect(try fast.int("scheduler.chkpt_every_epoch") == 5)
        #expect(try fast.string("scheduler.lr_net.function") == "linear")
        #expect(!fast.contains("scheduler.dt"))
        #expect(try fast.double("optim.optim_net.lr") == 1e-3)
        let replaced = try Config.load(overrides: base, configDirs: [dir])
        #expect(try replaced.int("scheduler.chkpt_every_epoch") == 7, "a user file of the same name replaces the default")
    }

    @Test func metaYAMLRoundTripAndDiff() throws {
        let c = try Config.load(overrides: base + ["description='quoted: yes'"])
        let meta = c.metaYAML(status: "done", keys: ["network_name", "network", "task", "optim", "penalizer", "scheduler", "description"])
        #expect(meta.hasPrefix("config:\n  type: NetworkDir\n  network_name: flow/0045/000\n"))
        #expect(meta.hasSuffix("status: done\n"))
        let (back, status) = try Config.fromMeta(meta, file: "_meta.yaml")
        #expect(status == "done")
        #expect(back.value("task") == c.value("task"))
        #expect(back.value("description") == .string("quoted: yes"))
        #expect(back.value("network") == c.value("network"))
        let other = try Config.load(overrides: base + ["task.n_iters=5", "task.batch_size=2", "description=x"])
        let d = c.diff(other, ignoring: ["task.n_iters", "description"])
        #expect(d == ["task.batch_size: 4 → 2"])
    }
}

/// The extent range is stated once and checked before any directory exists (it used to say
/// "≥ 1" in the config and "0…64" in the connectome).
@Suite struct ExtentRangeTests {
    @Test func extentOutsideOneToSixtyFourIsAConfigError() throws {
        for bad in [0, -1, 65, 100] {
            do {
                _ = try Config.load(overrides: ["network.connectome.extent=\(bad)"])
                Issue.record("extent \(bad) was accepted")
            } catch {
                #expect(error.description.contains("from 1 to 64"), "\(error)")
            }
        }
        for good in [1, 15, 64] { _ = try Config.load(overrides: ["network.connectome.extent=\(good)"]) }
    }
}
