import FlyvisConnectome
import FlyvisNetwork
import Foundation
import Synchronization

/// One rank of `bench --concurrent`: the training-iteration workload on one thread, in step
/// with its parent (NodeThroughputBenchmark) through lines on stdin and stdout. It builds the
/// network and runs one untimed iteration, writes `ready`, waits for `go`, runs its timed
/// repetitions, writes `result` with each repetition's milliseconds, then keeps iterating
/// untimed until `stop`, so that every timed repetition of every rank overlaps with the
/// others working. The end of stdin counts as `stop` (the parent has died): a child never
/// outlives its parent by more than its timed repetitions.
package struct NodeThroughputChild: Sendable {
    package static let readyLine = "node-throughput ready"
    package static let goLine = "go"
    package static let stopLine = "stop"
    package static let resultPrefix = "node-throughput result"

    package var extent: Int
    package var batch: Int
    package var frames: Int
    package var repetitions: Int

    package init(extent: Int, batch: Int, frames: Int, repetitions: Int) {
        self.extent = extent
        self.batch = batch
        self.frames = frames
        self.repetitions = repetitions
    }

    /// What the parent has said so far, set by the thread that reads stdin.
    private final class Commands: Sendable {
        let go = DispatchSemaphore(value: 0)
        /// 0 nothing yet, 1 go, 2 stop or the end of stdin.
        let state = Atomic<Int>(0)

        func listen() {
            Thread.detachNewThread { [self] in
                var reader = LineReader(descriptor: STDIN_FILENO)
                while let line = reader.next() {
                    let word = line.trimmingCharacters(in: .whitespaces)
                    if word == NodeThroughputChild.goLine, state.compareExchange(expected: 0, desired: 1, ordering: .relaxed).exchanged {
                        go.signal()
                    } else if word == NodeThroughputChild.stopLine {
                        break
                    }
                }
                state.store(2, ordering: .relaxed)
                go.signal()
            }
        }
    }

    package func run() throws(NodeThroughputError) {
        // Dispositions set to ignore and blocked signals survive exec; a child takes the
        // defaults back, so that its parent can stop it and a closed stdout ends it.
        for s in [SIGINT, SIGTERM, SIGPIPE] { signal(s, SIG_DFL) }
        ChildReaper.unblock([SIGINT, SIGTERM, SIGPIPE])
        let commands = Commands()
        commands.listen()
        var hooks = IterationBenchmark.Hooks()
        hooks.warmedUp = {
            try Self.send(Self.readyLine)
            commands.go.wait()
            guard commands.state.load(ordering: .relaxed) == 1 else { throw NodeThroughputError.parentGone }
        }
        hooks.timed = { ms in
            try Self.send(([Self.resultPrefix] + ms.map { String(format: "%.4f", $0) }).joined(separator: " "))
        }
        hooks.keepRunning = { commands.state.load(ordering: .relaxed) == 1 }
        do {
            let network = try Network(connectome: try Connectome(extent: extent))
            network.threads = 1
            _ = try IterationBenchmark.run(
                network: network, batch: batch, frames: frames, repetitions: repetitions, threads: 1, hooks: hooks)
        } catch let error as NodeThroughputError {
            throw error
        } catch {
            throw .childWorkload("\(error)")
        }
    }

    private static func send(_ line: String) throws(NodeThroughputError) {
        guard LineReader.write(line, to: STDOUT_FILENO) else { throw .parentGone }
    }
}
