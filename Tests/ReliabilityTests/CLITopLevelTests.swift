import FlyvisConfig
import FlyvisTestSupport
import Foundation
import Testing

/// Clear errors before compute: the top level and config validation refuse
/// mistakes before any data is generated or directory created.
@Suite(.serialized) struct CLITopLevelTests {
    /// Runs the binary in an empty directory and returns what it printed and whether it created
    /// anything there (the default root is ./data).
    func runIn(_ arguments: [String], environment: [String: String] = [:]) throws -> (Outcome, [String]) {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var env: [String: String?] = ["FLYVIS_ROOT_DIR": nil]  // the default root, ./data
        for (k, v) in environment { env[k] = v }
        let r = try runProcess(flyvisBinary, arguments, environment: env, directory: dir)
        let created = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        return (r, created)
    }

    @Test func noArgumentsPrintsHelpAndStartsNothing() throws {
        let (r, created) = try runIn([])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("OVERVIEW:") && r.stdout.contains("SUBCOMMANDS:") && r.stdout.contains("train-single"))
        #expect(created.isEmpty, "nothing written to the working directory: \(created)")
    }

    @Test func misspeltSubcommandIsNamed() throws {
        let (r, created) = try runIn(["trian-single", "task_name=flow", "ensemble_and_network_id=0001/000"])
        #expect(r.status == 64, "\(r.output)")
        #expect(r.stderr.contains("unknown subcommand 'trian-single'; did you mean 'train-single'?"), "\(r.stderr)")
        #expect(!r.output.contains("cannot parse override"))
        #expect(created.isEmpty)
    }

    @Test func learningRatesMustBeFiniteAndNotNegative() throws {
        let base = ["task_name=flow", "ensemble_and_network_id=0001/000"]
        for (key, value) in [
            ("optim.optim_dec.lr", "nan"), ("optim.optim_net.lr", "inf"), ("scheduler.lr_net.start", "-1e-3"),
            ("scheduler.lr_dec.stop", "nan"), ("scheduler.lr_pen.start", "-inf"),
        ] {
            do {
                _ = try Config.load(overrides: base + ["\(key)=\(value)"])
                Issue.record("\(key)=\(value) must be refused")
            } catch let ConfigError.outOfRange(k, _, allowed) {
                #expect(k == key && allowed.contains("finite learning rate ≥ 0"), "\(k): \(allowed)")
            }
        }
        _ = try Config.load(overrides: base + ["scheduler.lr_dec.start=0"])  // 0 freezes the decoder: allowed
    }

    @Test func threadsAreCappedAndBadProgressIntervalRefused() throws {
        // A config error follows validation, so nothing is trained.
        let (capped, _) = try runIn(["train-single", "--threads", "100000", "task_name=flow", "ensemble_and_network_id=bad"])
        #expect(capped.stderr.contains("WARNING: --threads 100000 is more than the"), "\(capped.stderr)")
        #expect(capped.stderr.contains("core(s) this process may use; using "), "\(capped.stderr)")

        let (interval, created) = try runIn([
            "train-single", "--progress-interval=-1", "task_name=flow",
            "ensemble_and_network_id=0001/000",
        ])
        #expect(interval.status == 64, "\(interval.output)")
        #expect(interval.stderr.contains("--progress-interval -1.0 is not a number of seconds ≥ 0"), "\(interval.stderr)")
        #expect(created.isEmpty)
    }

    @Test func memberOverrideOutsideTheJobIsRefused() throws {
        let (r, created) = try runIn(["--ensemble-id", "1", "--start", "0", "--end", "2", "--member-override", "5:task.n_iters=3"])
        #expect(r.status != 0 && !r.signaled, "\(r.output)")
        #expect(r.stderr.contains("--member-override for member 5, which is not in this job's members 0..<2"), "\(r.stderr)")
        #expect(created.isEmpty, "\(created)")
    }
}

extension CLITopLevelTests {
    /// The ensemble folder is written by rank 0 before any member directory is resolved, so
    /// `--task-name` and the id ranges are checked up front.
    @Test func ensembleTaskNameAndIDsAreChecked() throws {
        for args in [["--task-name", "../../x"], ["--ensemble-id", "10000"], ["--start", "998", "--end", "1001"]] {
            let (r, created) = try runIn(args + ["task.n_iters=3"])
            #expect(r.status == 64, "\(args): \(r.output)")
            #expect(created.isEmpty, "\(args): \(created)")
        }
        let (r, _) = try runIn(["--task-name", "../../x"])
        #expect(r.stderr.contains("is not one path component"), "\(r.stderr)")
    }
}
