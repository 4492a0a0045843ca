import FlyvisTestSupport
import Foundation
import Testing

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
