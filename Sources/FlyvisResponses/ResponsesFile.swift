import FlyvisBase
import FlyvisHDF5
import FlyvisMPI
import FlyvisResults
import Foundation

/// One stimulus set's responses for every member, `<ens>/responses/<stimulus>.h5`, written
/// by all ranks together through parallel HDF5: each rank writes its members' blocks of one
/// dataset `responses` (member, sample, frame, cell) in collective MPI-IO calls. The file is
/// built under a temporary name and renamed once complete, so a reader never sees a partial
/// file. Every method is collective: all ranks call it with the same arguments.
package final class ResponsesFile {
    package let url: URL
    let temporary: URL
    let file: HDF5File
    let communicator: Communicator
    let shape: [Int]

    /// Creates the temporary file and the coordinates. `members` and `checkpoints` are the whole
    /// ensemble's (identical on every rank).
    package init(
        url: URL, communicator: Communicator, members: [String], checkpoints: [Int], samples: Int, frames: Int,
        cells: CellCoordinates, time: [Double], sampleParameters: [(name: String, values: [Double])],
        attributes: [(name: String, value: AttributeValue)]
    ) throws {
        self.url = url
        self.communicator = communicator
        shape = [members.count, samples, frames, cells.count]
        var name = communicator.isRoot ? AtomicFile.temporaryName(for: url.lastPathComponent, kind: "tmp") : ""
        try communicator.broadcast(&name)
        temporary = url.deletingLastPathComponent().appendingPathComponent(name)
        file = try HDF5File(path: temporary.path, mode: .truncate, communicator: communicator)
        do {
            try file.createDataset("responses", of: Float.self, shape: shape)
            try file.setAttribute("dims", string: "member,sample,frame,cell", on: "responses")
            try file.writeStrings("member", members)
            try file.write("checkpoint", checkpoints.map(Int64.init), shape: [members.count])
            try file.write("time", time, shape: [frames])
            for p in sampleParameters { try file.write("sample_\(p.name)", p.values, shape: [samples]) }
            try file.writeStrings("cell_type", cells.types)
            try file.write("cell_u", cells.u.map(Int64.init), shape: [cells.count])
            try file.write("cell_v", cells.v.map(Int64.init), shape: [cells.count])
            try file.setAttribute("dims_responses", string: "member,sample,frame,cell")
            for a in attributes {
                switch a.value {
                case let .number(x): try file.setAttribute(a.name, x)
                case let .numbers(xs): try file.setAttribute(a.name, xs)
                case let .text(s): try file.setAttribute(a.name, string: s)
                }
            }
        } catch {
            abandon()
            throw error
        }
    }

    /// Writes samples `range` of member `member` (values: sample, frame, cell). Ranks without
    /// a block this round pass nil and still take part in the collective call.
    package func write(member: Int, samples range: Range<Int>, values: [Float]) throws {
        try file.writeHyperslab(
            "responses", values, start: [member, range.lowerBound, 0, 0],
            count: [1, range.count, shape[2], shape[3]])
    }

    /// The collective call of a rank with nothing to write this round.
    package func skip() throws {
        try file.writeHyperslab("responses", [Float](), start: [0, 0, 0, 0], count: [0, 0, 0, 0])
    }

    /// Closes the file on every rank; rank 0 then flushes it to disk and renames it into place.
    package func commit() throws {
        try file.close()
        try communicator.barrier()
        var failure = ""
        if communicator.isRoot {
            do {
                try AtomicFile.syncFile(temporary.path)
                if rename(temporary.path, url.path) != 0 {
                    throw FileWriteError.posix(errno, path: url.path)
                }
            } catch {
                unlink(temporary.path)
                failure = "\(error)"
            }
        }
        try communicator.broadcast(&failure)
        if !failure.isEmpty { throw ResponsesError.invalidParameter(failure) }
    }

    /// Closes and removes the temporary file (after an error agreed on by every rank).
    package func abandon() {
        try? file.close()
        if communicator.isRoot { unlink(temporary.path) }
    }
}
