import FlyvisConnectome
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisNetwork

@Suite struct NetworkErrorTests {
    func writeJSON(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("connectome-\(UUID().uuidString).json")
        try Data(text.utf8).write(to: url)
        return url
    }

    @Test func malformedConnectomeNamesTheRecord() throws {
        let bad = try writeJSON(
            """
            {"nodes": [{"name": "R1", "pattern": ["stride", [1, 1]]}, {"name": "L1", "pattern": ["stride", [1]]}],
             "edges": [], "input_units": ["R1"], "output_units": ["L1"]}
            """)
        defer { try? FileManager.default.removeItem(at: bad) }
        do {
            _ = try Connectome(file: bad, extent: 2)
            Issue.record("a malformed pattern must be rejected")
        } catch {
            #expect(error.description.contains("nodes[1] (L1)"))
            #expect(error.description.contains("stride"))
        }
        let unknown = try writeJSON(
            """
            {"nodes": [{"name": "R1", "pattern": ["stride", [1, 1]]}],
             "edges": [{"src": "R1", "tar": "X9", "alpha": 1, "offsets": [[[0, 0], 2]]}]}
            """)
        defer { try? FileManager.default.removeItem(at: unknown) }
        #expect(throws: ConnectomeError.malformed(path: unknown.path, record: "edges[0] (R1→X9)", problem: "unknown cell type 'X9'")) {
            _ = try Connectome(file: unknown, extent: 2)
        }
        let notJSON = try writeJSON("{ nodes: ")
        defer { try? FileManager.default.removeItem(at: notJSON) }
        #expect(throws: ConnectomeError.self) { _ = try Connectome(file: notJSON) }
        #expect(throws: ConnectomeError.unreadable(path: "/no/such/file.json", reason: "no such file")) {
            _ = try Connectome(file: URL(fileURLWithPath: "/no/such/file.json"))
        }
    }

    @Test func anotherFileWithTheSameSchemaJustWorks() throws {
        let tiny = try writeJSON(
            """
            {"nodes": [{"name": "R1", "pattern": ["stride", [1, 1]]}, {"name": "T1", "pattern": ["stride", [1, 1]]}],
             "edges": [{"src": "R1", "tar": "T1", "alpha": -1, "lambda_mult": 1.0,
                        "offsets": [[[0, 0], 3], [[1, 0], 1.5], [[0, 1], 2], [[-1, 1], 1]]}],
             "input_units": ["R1"], "output_units": ["T1"]}
            """)
        defer { try? FileManager.default.removeItem(at: tiny) }
        let c = try Connectome(file: tiny, extent: 2)
        #expect(c.nodeCount == 2 * 19)
        #expect(c.groups.count >= 4)
        let net = try Network(connectome: c)
        let s = try net.steadyState(tPre: 0.1, dt: 0.02, batch: 1)
        #expect(s?.count == c.nodeCount)
    }

    @Test func badTimeStepAndStimulusShape() throws {
        let c = try Connectome(extent: 2)
        let net = try Network(connectome: c)
        #expect(throws: NetworkError.invalidTimeStep(-0.02)) { _ = try net.steadyState(tPre: 0.5, dt: -0.02, batch: 1) }
        #expect(throws: NetworkError.invalidTimeStep(0)) {
            _ = try net.simulate(movie: [], batch: 1, frames: 0, dt: 0)
        }
        let movie = [Float](repeating: 0.5, count: 2 * 3 * 10)
        #expect(throws: NetworkError.stimulusShape(expected: [2, 3, 1, c.lattice.count], found: [60])) {
            _ = try net.simulate(movie: movie, batch: 2, frames: 3, dt: 0.02)
        }
        #expect(throws: NetworkError.self) { _ = try net.nodeIndices(.types(["NotAType"])) }
        #expect(throws: NetworkError.stateShape(expected: [1, c.nodeCount], found: 3)) {
            _ = try net.steadyState(tPre: 0.1, dt: 0.02, batch: 1, state: [1, 2, 3])
        }
    }

    @Test func simulateInChunksEqualsOneRun() throws {
        let c = try Connectome(extent: 3)
        let net = try Network(connectome: c)
        let T = 11, B = 2
        let movie = (0..<(B * T * c.lattice.count)).map { Float(($0 * 7919) % 101) / 101 }
        let whole = try net.simulate(movie: movie, batch: B, frames: T, dt: 0.02, nodes: .central)
        let chunked = try net.simulate(movie: movie, batch: B, frames: T, dt: 0.02, nodes: .central, chunkFrames: 4)
        #expect(whole.values == chunked.values)
        let some = try net.simulate(
            movie: movie, batch: B, frames: T, dt: 0.02, nodes: .types(["T4a"]),
            keepFrames: [0, 10], chunkFrames: 3)
        #expect(some.values.count == B * 2 * c.lattice.count)
    }
}

@Suite struct ThreadingTests {
    /// Threads split work by type, in the same per-map order, so results are bitwise equal.
    @Test func twoThreadsGiveBitwiseIdenticalResults() throws {
        let c = try Connectome(extent: 4)
        let T = 6, B = 3
        let movie = (0..<(B * T * c.lattice.count)).map { Float(($0 * 7919) % 101) / 101 }
        var results: [([Float], NetworkGradients)] = []
        for threads in [1, 2] {
            let net = try Network(connectome: c)
            net.engine.threads = threads
            let steady = try net.steadyState(tPre: 0.1, dt: 0.02, batch: B)
            try movie.withUnsafeBufferPointer { try net.forward(movie: $0, batch: B, frames: T, dt: 0.02, state: steady) }
            var last = [Float](repeating: 0, count: B * net.nodeCount)
            last.withUnsafeMutableBufferPointer { net.engine.copyState(frame: T - 1, into: $0.baseAddress!) }
            let g = net.engine.backward(penaltyLane: true) { t, lane, add in
                for b in 0..<B {
                    for n in stride(from: lane, to: net.nodeCount, by: 5) { add(n, b, net.engine.value(frame: t, node: n, batch: b)) }
                }
            }
            results.append((last, g))
        }
        #expect(results[0].0 == results[1].0)
        #expect(results[0].1 == results[1].1)
    }

    /// A batch's grey warm-up from the bias runs one sample and copies it: bit for bit the
    /// batched run (here from the bias state given explicitly, which takes the batched path),
    /// with one thread and two.
    @Test(arguments: [1, 2]) func batchedWarmUpEqualsOneSampleCopied(threads: Int) throws {
        let c = try Connectome(extent: 4)
        let net = try Network(connectome: c)
        net.threads = threads
        let B = 3
        let p = net.parameters
        let bias = (0..<net.nodeCount).map { p.bias[Int(c.nodeType[$0])] }
        let given = Array((0..<B).map { _ in bias }.joined())
        let copied = try #require(try net.steadyState(tPre: 0.3, dt: 0.02, batch: B, value: 0.4))
        let batched = try #require(try net.steadyState(tPre: 0.3, dt: 0.02, batch: B, value: 0.4, state: given))
        #expect(copied.count == B * net.nodeCount)
        #expect(copied == batched)
        #expect(copied != given, "the warm-up must move the state")
    }

    /// The penalty lane shares the main lane's sweep (interleaved per cell, with a kernel for
    /// the batch of four and one for any other), but not its sums: the main lane's gradients
    /// are bitwise those of a backward without it.
    @Test(arguments: [4, 3]) func penaltyLaneLeavesTheMainLaneUnchanged(batch B: Int) throws {
        let c = try Connectome(extent: 4)
        let T = 5
        let movie = (0..<(B * T * c.lattice.count)).map { Float(($0 * 7919) % 101) / 101 }
        let net = try Network(connectome: c)
        try movie.withUnsafeBufferPointer { try net.forward(movie: $0, batch: B, frames: T, dt: 0.02, state: nil) }
        let grads = [false, true].map { penalty in
            net.engine.backward(penaltyLane: penalty) { t, lane, add in
                for b in 0..<B {
                    for n in stride(from: lane, to: net.nodeCount, by: 3) { add(n, b, net.engine.value(frame: t, node: n, batch: b)) }
                }
            }
        }
        #expect(grads[1].bias == grads[0].bias)
        #expect(grads[1].timeConst == grads[0].timeConst)
        #expect(grads[1].synStrength == grads[0].synStrength)
        #expect(grads[1].penaltyBias != nil && grads[1].penaltyBias != grads[1].bias)
    }
}

@Suite struct CotangentSinkTests {
    /// The sink's bulk add (four nodes at a time at the batch of four, on runs of consecutive
    /// cells) against adding value by value: the same gradients, bit for bit, with one lane and
    /// two, at the batch of four and another.
    @Test(arguments: [(4, false), (4, true), (3, true)]) func bulkAddEqualsValueByValue(batch B: Int, penalty: Bool) throws {
        let c = try Connectome(extent: 4)
        let T = 4, H = c.lattice.count
        let types = c.outputCellTypes.compactMap { c.typeIndex($0) }
        let movie = (0..<(B * T * H)).map { Float(($0 * 7919) % 101) / 101 }
        let net = try Network(connectome: c)
        try movie.withUnsafeBufferPointer { try net.forward(movie: $0, batch: B, frames: T, dt: 0.02, state: nil) }
        // (B, T, types, hexals), as the decoders hand it over.
        let K = types.count
        let g = (0..<(B * T * K * H)).map { Float(($0 * 104_729) % 997) / 997 - 0.5 }
        #expect(!types.isEmpty && types.allSatisfy { c.layerIndex($0).count == H })
        let grads = [true, false].map { bulk in
            g.withUnsafeBufferPointer { gb in
                net.engine.backward(penaltyLane: penalty) { t, lane, sink in
                    guard lane == 0 else { sink(c.centralCellsIndex[0], 0, 1); return }
                    for (k, type) in types.enumerated() {
                        let nodes = c.layerIndex(type), base = gb.baseAddress! + (t * K + k) * H
                        if bulk {
                            sink.add(nodes: nodes, values: base, batchStride: T * K * H)
                        } else {
                            for (j, n) in nodes.enumerated() { for b in 0..<B { sink(n, b, base[b * T * K * H + j]) } }
                        }
                    }
                }
            }
        }
        #expect(grads[0].bias.count == c.cellTypes.count && grads[0].synStrength.count > 0)
        #expect(grads[0] == grads[1])
        #expect(grads[0].bias.contains { $0 != 0 })
    }
}

@Suite struct StateCopyTests {
    /// The range copy (four nodes at a time at the batch of four) against reading the state
    /// value by value: every value, at batches 4 and 3, on a range that starts off a multiple
    /// of four and has a remainder, into a strided buffer whose gaps must stay untouched.
    @Test(arguments: [4, 3]) func rangeCopyEqualsValueByValue(batch B: Int) throws {
        let c = try Connectome(extent: 4)
        let T = 3, H = c.lattice.count
        let movie = (0..<(B * T * H)).map { Float(($0 * 7919) % 101) / 101 }
        let net = try Network(connectome: c)
        try movie.withUnsafeBufferPointer { try net.forward(movie: $0, batch: B, frames: T, dt: 0.02, state: nil) }
        let nodes = 5..<(5 + 4 * 9 + 3), stride = nodes.count + 2
        var out = [Float](repeating: .nan, count: B * stride)
        for t in 0..<T {
            out.withUnsafeMutableBufferPointer { net.engine.copyState(frame: t, nodes: nodes, into: $0.baseAddress!, batchStride: stride) }
            var compared = 0
            for b in 0..<B {
                for (j, n) in nodes.enumerated() {
                    #expect(out[b * stride + j] == net.engine.value(frame: t, node: n, batch: b))
                    compared += 1
                }
                let gap = out[(b * stride + nodes.count)..<((b + 1) * stride)]
                #expect(gap.count == 2 && gap.allSatisfy { $0.isNaN })
            }
            #expect(compared == B * nodes.count && out.contains { $0 != 0 && !$0.isNaN })
        }
    }
}
