import FlyvisHDF5
import FlyvisMPI
// Multi-rank checks of the MPI and parallel-HDF5 layers. The Swift test suite launches this
// under real `mpirun -n 4` (and once without mpirun, as a singleton); rank 0 prints one line
// per failed check and the process exits non-zero if any rank saw a failure.
import Foundation

var failures: [String] = []

@MainActor func expect(_ condition: @autoclosure () throws -> Bool, _ what: String) {
    do {
        if try !condition() { failures.append(what) }
    } catch {
        failures.append("\(what): \(error)")
    }
}

let comm: Communicator
do {
    comm = try MPI.initialize()
} catch {
    print("FAIL: MPI initialisation: \(error)")
    exit(2)
}
let rank = comm.rank, size = comm.size
let directory = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : NSTemporaryDirectory()

// Collectives for every supported element type.
@MainActor func checkCollectives<T: MPIScalar & Numeric & Comparable>(_: T.Type, _ name: String, _ make: (Int) -> T) {
    let mine = [make(rank), make(rank + 1)]
    let sum = (try? comm.allreduce(mine, .sum)) ?? []
    let expectedSum = [(0..<size).map(make).reduce(0, +), (1...size).map(make).reduce(0, +)]
    expect(sum == expectedSum, "allreduce sum \(name): \(sum) != \(expectedSum)")
    expect(try comm.allreduce(mine, .min) == [make(0), make(1)], "allreduce min \(name)")
    expect(try comm.allreduce(mine, .max) == [make(size - 1), make(size)], "allreduce max \(name)")
    let gathered = (try? comm.gather(mine, root: 0)) ?? []
    if rank == 0 {
        expect(gathered == (0..<size).flatMap { [make($0), make($0 + 1)] }, "gather \(name)")
    } else {
        expect(gathered.isEmpty, "gather \(name) on non-root is empty")
    }
    expect(try comm.allgather([make(rank)]) == (0..<size).map(make), "allgather \(name)")
    var b: [T] = rank == size - 1 ? [make(7), make(8), make(9)] : []
    expect(
        (try? comm.broadcast(&b, root: size - 1)) != nil && b == [make(7), make(8), make(9)],
        "broadcast \(name) from last rank")
}
checkCollectives(Float.self, "Float") { Float($0) * 1.5 }
checkCollectives(Double.self, "Double") { Double($0) * 2.25 - 1 }
checkCollectives(Int32.self, "Int32") { Int32($0 * 3 - 2) }
checkCollectives(Int64.self, "Int64") { Int64($0) * 10_000_000_000 }

var text = rank == 0 ? "ensemble 0045 ✓" : ""
try? comm.broadcast(&text)
expect(text == "ensemble 0045 ✓", "string broadcast")
expect((try? comm.barrier()) != nil, "barrier")

// Blocking ring exchange: send to the right, receive from the left.
if size > 1 {
    let right = (rank + 1) % size, left = (rank + size - 1) % size
    let request = try? comm.isend([Double(rank), Double(rank) * 0.5], to: right, tag: 11)
    let got = try? comm.receive(Double.self, count: 2, from: left, tag: 11)
    expect(got?.values == [Double(left), Double(left) * 0.5] && got?.source == left, "ring send/receive")
    expect((try? request?.wait()) != nil, "isend wait")

    // Non-blocking receive completed by polling test().
    let recv = try? comm.ireceive(Int64.self, count: 4, from: left, tag: 12)
    try? comm.send([Int64(rank), 1, 2, 3], to: right, tag: 12)
    var spins = 0
    while (try? recv?.test()) == false, spins < 10_000_000 { spins += 1 }
    expect(recv?.isComplete == true && recv?.values == [Int64(left), 1, 2, 3], "irecv + test")
}

// Iprobe-driven coordinator pattern: every worker sends several progress messages of varying
// length; rank 0 polls with iprobe between its own "work" until it has all of them.
let messagesPerRank = 5
if rank == 0 {
    var received: [Int: [String]] = [:]
    let expected = (size - 1) * messagesPerRank
    var count = 0
    var polls = 0
    let deadline = Date().addingTimeInterval(30)
    while count < expected && Date() < deadline {
        polls += 1
        if let info = try? comm.iprobe(UInt8.self, tag: 21) {
            if let message = try? comm.receive(UInt8.self, count: info.count, from: info.source, tag: 21) {
                received[message.source, default: []].append(String(decoding: message.values, as: UTF8.self))
                count += 1
            }
        } else {
            usleep(100)  // stands in for rank 0's own training iteration
        }
    }
    expect(count == expected, "iprobe coordinator received \(count) of \(expected) messages")
    for source in 1..<size {
        let want = (0..<messagesPerRank).map { "rank \(source) checkpoint \($0) " + String(repeating: "x", count: $0 * 37) }
        expect(received[source] == want, "messages from rank \(source) arrive complete and in order")
    }
} else {
    for k in 0..<messagesPerRank {
        usleep(UInt32(1000 * ((rank * 7 + k * 3) % 5)))
        let message = "rank \(rank) checkpoint \(k) " + String(repeating: "x", count: k * 37)
        expect((try? comm.sendBytes(Array(message.utf8), to: 0, tag: 21)) != nil, "send progress message")
    }
}

// Probe before a blocking receive of unknown length.
if size > 1 {
    if rank == 1 {
        try? comm.sendBytes(Array("probe me".utf8), to: 0, tag: 31)
    } else if rank == 0 {
        let info = try? comm.probe(UInt8.self, from: 1, tag: 31)
        expect(info?.count == 8 && info?.source == 1, "probe reports size and source")
        let message = try? comm.receiveBytes(from: 1, tag: 31)
        expect(message.map { String(decoding: $0.bytes, as: UTF8.self) } == "probe me", "receiveBytes")
    }
}

// MPI errors become Swift errors carrying MPI's message.
do {
    _ = try comm.receive(Float.self, count: 1, from: size + 5, tag: 1)
    failures.append("receiving from a non-existent rank must fail")
} catch {
    expect(error.description.contains("MPI_Recv"), "MPI error names the call: \(error)")
}

// Parallel HDF5: collective creation, disjoint hyperslabs per rank, serial read-back on rank 0.
let h5path = (directory as NSString).appendingPathComponent("mpi-selftest-\(size).h5")
let rowsPerRank = 3, columns = 4
func value(_ row: Int, _ col: Int) -> Float { Float(row * 100 + col) + 0.5 }
do {
    let file = try HDF5File(path: h5path, mode: .truncate, communicator: comm)
    try file.createDataset("summary/val_loss", of: Float.self, shape: [size * rowsPerRank, columns], fill: .nan)
    let rows = (rank * rowsPerRank)..<((rank + 1) * rowsPerRank)
    let block = rows.flatMap { r in (0..<columns).map { value(r, $0) } }
    try file.writeHyperslab("summary/val_loss", block, start: [rows.lowerBound, 0], count: [rowsPerRank, columns])
    // An empty contribution from odd ranks must still complete the collective call.
    try file.createDataset("summary/rank", of: Int32.self, shape: [size])
    if rank % 2 == 0 {
        try file.writeHyperslab("summary/rank", [Int32(rank)], start: [rank], count: [1])
    } else {
        try file.writeHyperslab("summary/rank", [Int32](), start: [0], count: [0])
    }
    try file.writeStrings("summary/names", (0..<size).map { String(format: "%03d", $0) })
    try file.setAttribute("n_members", Int64(size), on: "summary")
    try file.flush()
    try file.close()
} catch {
    failures.append("parallel HDF5 write: \(error)")
}
try? comm.barrier()
if rank == 0 {
    do {
        let file = try HDF5File(path: h5path, mode: .readOnly)
        let a: HDF5Array<Float> = try file.read("summary/val_loss")
        expect(a.shape == [size * rowsPerRank, columns], "parallel dataset shape \(a.shape)")
        let want = (0..<(size * rowsPerRank)).flatMap { r in (0..<columns).map { value(r, $0) } }
        expect(a.values == want, "parallel hyperslab values read back exactly")
        let ranks: [Int32] = try file.read("summary/rank").values
        expect(ranks == (0..<size).map { Int32($0 % 2 == 0 ? $0 : 0) }, "empty contributions leave fill values: \(ranks)")
        expect(try file.readStrings("summary/names") == (0..<size).map { String(format: "%03d", $0) }, "names")
        expect(try file.attribute("n_members", on: "summary", as: Int64.self) == Int64(size), "attribute")
    } catch {
        failures.append("parallel HDF5 read-back: \(error)")
    }
    try? FileManager.default.removeItem(atPath: h5path)
}

// Everyone learns the total failure count, so every rank exits with the same status.
let total = (try? comm.allreduce([Int32(failures.count)], .sum))?.first ?? 1
let allFailures = failures
if rank == 0 || !allFailures.isEmpty {
    for f in allFailures { print("FAIL rank \(rank): \(f)") }
}
if rank == 0 { print(total == 0 ? "PASS mpi-selftest ranks=\(size)" : "FAIL mpi-selftest: \(total) failed checks") }
MPI.finalize()
exit(total == 0 ? 0 : 1)
