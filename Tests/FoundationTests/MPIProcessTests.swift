import Foundation
import Testing

/// Locates an executable product next to the test bundle (same build configuration).
func productPath(_ name: String) -> String {
    let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var candidates = [bundleDir.appendingPathComponent(name).path]
    for bundle in Bundle.allBundles {
        candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent(name).path)
    }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
}

/// Runs a command and returns its exit status and combined output.
func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 300) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// `mpirun` with the flags a root CI container needs.
func mpirun(ranks: Int, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let launcher = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "mpirun"
    return try run(launcher, ["--allow-run-as-root", "--oversubscribe", "-n", "\(ranks)"] + arguments)
}

// MPI jobs share the machine's cores and ports: run them one at a time.
@Suite(.serialized) struct MPIProcessTests {
    @Test func fourRanksUnderMpirun() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try mpirun(ranks: 4, [productPath("flyvis-mpi-selftest"), dir.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("PASS mpi-selftest ranks=4"), "\(result.output)")
    }

    @Test func singletonWithoutMpirun() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try run(productPath("flyvis-mpi-selftest"), [dir.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("PASS mpi-selftest ranks=1"), "\(result.output)")
    }

    @Test func doctorReportsRanksAndParallelHDF5() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try mpirun(ranks: 4, [productPath("flyvis-ensemble"), "doctor", "--dir", dir.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("ranks: 4"), "\(result.output)")
        #expect(result.output.contains("parallel HDF5: yes"), "\(result.output)")
        #expect(result.output.contains("collective write test: ok"), "\(result.output)")
    }
}
