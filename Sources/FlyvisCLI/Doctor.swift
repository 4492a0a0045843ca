import ArgumentParser
import FlyvisBase
import FlyvisEnsemble
import FlyvisHDF5
import FlyvisMPI
import Foundation

/// Checks the cluster environment; users run it before their first ensemble.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report MPI, HDF5 and core set-up and test a collective write.",
        discussion: """
            Run it the way you will run training, e.g. \
            `mpirun -n 4 flyvis-ensemble doctor --dir $FLYVIS_ROOT_DIR`.
            """)

    @Option(help: "Directory in which to test a collective parallel-HDF5 write (use your results root).")
    var dir: String = FileManager.default.currentDirectoryPath

    func run() throws {
        let comm = try MPI.initialize()
        defer { MPI.finalize() }
        let writeResult = collectiveWriteTest(comm)
        let failures = (try? comm.allreduce([Int32(writeResult == nil ? 0 : 1)], .sum))?.first ?? 1
        guard comm.isRoot else {
            if failures > 0 { throw ExitCode(ExitStatus.failure.rawValue) }
            return
        }
        let hostname = ProcessInfo.processInfo.hostName
        print(
            """
            flyvis-ensemble \(RootCommand.version) doctor (rank 0 on \(hostname))
              MPI library: \(MPI.libraryVersion.split(separator: "\n").first.map(String.init) ?? "?")
              ranks: \(comm.size)
              HDF5 library: \(hdf5LibraryVersion)
              parallel HDF5: \(hdf5IsParallel ? "yes" : "no (install libhdf5-openmpi-dev)")
              cores visible to rank 0: \(availableCores()) (give ranks × --threads ≤ cores per node)
            """)
        if let writeResult {
            print("  collective write test: FAILED in \(dir): \(writeResult)")
            print("  fix: pass --dir on a shared file system that supports MPI-IO and that you can write to")
        } else if failures > 0 {
            print("  collective write test: FAILED on \(failures) rank(s) in \(dir)")
        } else {
            print("  collective write test: ok (\(comm.size) ranks wrote disjoint rows to one file in \(dir))")
        }
        if failures > 0 { throw ExitCode(ExitStatus.failure.rawValue) }
    }

    /// Every rank writes its own row of one shared dataset; rank 0 reads it back. Returns an
    /// error description, or nil on success.
    private func collectiveWriteTest(_ comm: Communicator) -> String? {
        var name = comm.isRoot ? ".flyvis-doctor-\(ProcessInfo.processInfo.processIdentifier).h5" : ""
        do {
            try comm.broadcast(&name)
            let path = URL(fileURLWithPath: dir).appendingPathComponent(name).path
            let file = try HDF5File(path: path, mode: .truncate, communicator: comm)
            try file.createDataset("ranks", of: Int64.self, shape: [comm.size, 2], fill: -1)
            try file.writeHyperslab(
                "ranks", [Int64(comm.rank), Int64(comm.rank * comm.rank)],
                start: [comm.rank, 0], count: [1, 2])
            try file.close()
            try comm.barrier()
            var problem: String?
            if comm.isRoot {
                defer { try? FileManager.default.removeItem(atPath: path) }
                let back: [Int64] = try HDF5File(path: path, mode: .readOnly).read("ranks").values
                let want = (0..<comm.size).flatMap { [Int64($0), Int64($0 * $0)] }
                if back != want { problem = "read back \(back), expected \(want)" }
            }
            return problem
        } catch {
            return "\(error)"
        }
    }
}
