import FlyvisConfig
import FlyvisResults
import FlyvisSolver
import Foundation

/// One member of an ensemble as the readout sees it: its directory and the checkpoint chosen
/// by flyvis's rule (best, last or an index).
package struct ResponsesMember: Sendable, Equatable {
    /// The directory name, flyvis's member number ("000").
    package let name: String
    package let directory: URL
    package let checkpointIndex: Int
    package let extent: Int

    /// Members of `ensemble`: every `NNN/` subdirectory with a `_meta.yaml`, in number order.
    /// A member whose config or checkpoints cannot be read is an error that names it.
    package static func list(ensemble: URL, checkpoint: CheckpointSelector) throws -> [ResponsesMember] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: ensemble.path, isDirectory: &isDir), isDir.boolValue else {
            throw ResponsesError.noMembers(directory: ensemble.path)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: ensemble.path).filter { name in
            name.count == 3 && name.allSatisfy { $0.isASCII && $0.isNumber }
                && FileManager.default.fileExists(
                    atPath: ensemble.appendingPathComponent(name).appendingPathComponent(ResultsSchema.meta).path)
        }.sorted()
        guard !names.isEmpty else { throw ResponsesError.noMembers(directory: ensemble.path) }
        return try names.map { try member(directory: ensemble.appendingPathComponent($0), checkpoint: checkpoint) }
    }

    /// One member directory with the checkpoint `checkpoint` selects; an unreadable config or
    /// a missing checkpoint is an error naming the member.
    package static func member(directory url: URL, checkpoint: CheckpointSelector) throws -> ResponsesMember {
        let dir = ResultsDirectory(url)
        let name = url.lastPathComponent
        do {
            let config = try TrainedNetwork.storedConfig(dir)
            let index = try checkpoint.resolve(in: dir)
            return ResponsesMember(
                name: name, directory: url, checkpointIndex: index,
                extent: try config.int("network.connectome.extent"))
        } catch {
            throw ResponsesError.member(name: name, reason: "\(error)")
        }
    }

    /// The member's network at its chosen checkpoint; a damaged or non-finite checkpoint is an
    /// error naming it.
    package func network(threads: Int) throws -> TrainedNetwork {
        do {
            return try TrainedNetwork(directory: ResultsDirectory(directory), checkpoint: .index(checkpointIndex), threads: threads)
        } catch {
            throw ResponsesError.member(name: name, reason: "\(error)")
        }
    }
}
