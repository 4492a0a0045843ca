import FlyvisBench
import FlyvisTestSupport
import Foundation
import Testing

/// `bench --concurrent`: the parent, its children and their barrier protocol, on a small
/// network. Functional only: no timing is asserted.
@Suite struct NodeThroughputTests {
    /// Two ranks, one round: one median per rank per round and a finite positive throughput.
    @Test func concurrentBenchPrintsThroughput() throws {
        let r = try runProcess(
            productPath("flyvis-ensemble"), ["bench", "--concurrent", "2", "--rounds", "1", "--repetitions", "2", "--extent", "4"])
        #expect(r.status == 0, "\(r.output)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasPrefix("ours node_round1_solo_ms: ") }.count == 1, "\(r.stdout)")
        let ranks = lines.filter { $0.hasPrefix("ours node_round1_rank") }
        #expect(ranks.count == 2 && ranks[0].hasPrefix("ours node_round1_rank0_ms: ") && ranks[1].hasPrefix("ours node_round1_rank1_ms: "))
        for line in ranks {
            let ms = Double(line.split(separator: " ").last ?? "") ?? .nan
            #expect(ms.isFinite && ms > 0, "\(line)")
        }
        #expect(!lines.contains { $0.hasPrefix("ours node_round2") }, "one round asked for")
        let prefix = "node throughput (2 ranks): "
        let throughput = try #require(lines.first { $0.hasPrefix(prefix) && $0.hasSuffix(" % of solo") }, "\(r.stdout)")
        let p = Double(throughput.dropFirst(prefix.count).dropLast(" % of solo".count)) ?? .nan
        #expect(p.isFinite && p > 0, "\(throughput)")
        #expect(lines.contains { $0.hasPrefix("node throughput slowest rank (2 ranks): ") && $0.hasSuffix(" % of solo") })
    }

    /// `--workload iteration` times the iteration alone, with the training workload's lines.
    @Test func iterationWorkloadPrintsOnlyTheIteration() throws {
        let r = try runProcess(productPath("flyvis-ensemble"), ["bench", "--workload", "iteration", "--repetitions", "1", "--extent", "4"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("ours iteration_ms: ") && r.stdout.contains("ours iteration_phase_steady_state_ms: "), "\(r.stdout)")
        #expect(
            !r.stdout.contains("fma_peak") && !r.stdout.contains("network_fwd_bwd") && !r.stdout.contains("ours decoder_"), "\(r.stdout)")
    }

    /// A rank that fails ends the run with its exit status and stderr, and its neighbour is
    /// killed rather than left running. The children are shell scripts that speak the
    /// protocol: the solo one well, then in the two-rank phase one fails once the other is up.
    @Test func failingRankIsNamedAndNoChildIsLeft() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        let script = """
            echo '\(NodeThroughputChild.readyLine)'; read go
            if mkdir '\(d)/solo' 2>/dev/null; then echo '\(NodeThroughputChild.resultPrefix) 1.5 2.5'; read stop; exit 0
            elif mkdir '\(d)/failing' 2>/dev/null; then
              while [ ! -s '\(d)/survivor' ]; do sleep 0.01; done; echo 'boom: no network' >&2; exit 3
            else echo $$ > '\(d)/survivor.tmp'; mv '\(d)/survivor.tmp' '\(d)/survivor'; exec sleep 600
            fi
            """
        let benchmark = NodeThroughputBenchmark(
            ranks: 2, rounds: 1, repetitions: 2, executable: URL(fileURLWithPath: "/bin/sh"), childArguments: ["-c", script])
        var reported: [String] = []
        #expect {
            _ = try benchmark.run { reported.append($0) }
        } throws: { error in
            let text = "\(error)"
            return text.contains("exited with status 3") && text.contains("boom: no network") && text.contains("of 2")
        }
        #expect(FileManager.default.fileExists(atPath: "\(d)/solo"), "the solo phase ran first")
        let survivor = try #require(
            Int32(String(contentsOfFile: "\(d)/survivor", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(!isRunning(survivor), "the other rank (pid \(survivor)) was left running")
    }

    /// SIGTERM to the parent kills its children too (they run in process groups of their own).
    /// The run is bounded (a few seconds per phase at extent 1) in case the signal is lost.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/stat"))) func sigtermLeavesNoChild() throws {
        let parent = try launch(
            productPath("flyvis-ensemble"), ["bench", "--concurrent", "2", "--rounds", "1", "--repetitions", "1000", "--extent", "1"])
        var children: [Int32] = []
        let deadline = Date(timeIntervalSinceNow: 60)
        while children.isEmpty && parent.isRunning && Date() < deadline {
            usleep(20_000)
            children = childProcesses(of: parent.processIdentifier)
        }
        defer {  // never leave a runaway benchmark on a shared machine
            for pid in children + [parent.processIdentifier] where isRunning(pid) { kill(pid, SIGKILL) }
        }
        try #require(!children.isEmpty, "the parent started no child")
        kill(parent.processIdentifier, SIGTERM)
        let exited = Date(timeIntervalSinceNow: 10)
        while parent.isRunning && Date() < exited { usleep(20_000) }
        try #require(!parent.isRunning, "the parent ignored SIGTERM")
        #expect(parent.terminationReason == .exit && parent.terminationStatus == 128 + SIGTERM)
        let gone = Date(timeIntervalSinceNow: 5)
        while children.contains(where: isRunning) && Date() < gone { usleep(20_000) }
        #expect(!children.contains(where: isRunning), "children left running: \(children.filter(isRunning))")
    }
}

/// The pids whose parent is `pid`, from /proc.
private func childProcesses(of pid: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { Int32($0) }.filter { processStat($0)?.parent == pid }
}

/// State letter and parent pid from /proc/PID/stat (the command name may hold spaces).
private func processStat(_ pid: Int32) -> (state: Character, parent: Int32)? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 1, let state = fields[0].first, let parent = Int32(fields[1]) else { return nil }
    return (state, parent)
}

/// Alive and not a zombie (a killed child whose new parent has not reaped it yet is dead).
private func isRunning(_ pid: Int32) -> Bool {
    if let stat = processStat(pid) { return stat.state != "Z" && stat.state != "X" }
    return kill(pid, 0) == 0
}
