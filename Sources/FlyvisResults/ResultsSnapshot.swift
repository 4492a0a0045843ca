import FlyvisBase
import Foundation

/// Makes a group of writes to one network directory all-or-nothing. A checkpoint appends to a
/// dozen histories and adds a checkpoint file, each written atomically on its own; if one of
/// them fails (a full disk), the others would already be one entry longer — the off-by-one
/// `validation/loss` that makes every later argmin pick the wrong checkpoint. The snapshot
/// hard-links every `.h5` file (free: no data is copied) and records the checkpoint names
/// before the writes; `rollBack()` renames the links back over the files and removes what
/// was added, and neither needs free space. `commit()` drops the links.
package final class ResultsSnapshot {
    package let directory: URL
    private var links: [(file: String, backup: String)] = []
    private var existing: Set<String> = []
    private var existingCheckpoints: Set<String> = []
    private let checkpointFolder: String
    private var finished = false

    /// `checkpointFolder` is the sub-folder whose files are only ever added (never rewritten),
    /// so only their names are recorded.
    package init(directory: URL, checkpointFolder: String = CheckpointSchema.folder) throws {
        self.directory = directory
        self.checkpointFolder = checkpointFolder
        let fm = FileManager.default
        existingCheckpoints = Set((try? fm.contentsOfDirectory(atPath: directory.appendingPathComponent(checkpointFolder).path)) ?? [])
        for file in historyFiles() {
            existing.insert(file)
            let url = URL(fileURLWithPath: file)
            let backup = url.deletingLastPathComponent()
                .appendingPathComponent(AtomicFile.temporaryName(for: url.lastPathComponent, kind: "bak")).path
            if link(file, backup) != 0 {
                let code = errno
                if code == ENOSPC || code == EDQUOT {
                    rollBack()
                    throw FileWriteError.posix(code, path: file)
                }
                // No hard links here (some network or FUSE file systems): each file is still
                // replaced atomically, only the group is not.
                continue
            }
            links.append((file, backup))
        }
    }

    deinit { if !finished { commit() } }

    /// The `.h5` files of the directory and its sub-folders (not hidden ones, not checkpoints).
    private func historyFiles() -> [String] {
        var out: [String] = []
        func walk(_ dir: URL, depth: Int) {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] where !name.hasPrefix(".") {
                let url = dir.appendingPathComponent(name)
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { continue }
                if isDir.boolValue {
                    if depth == 0 && name == checkpointFolder { continue }
                    if depth < 4 { walk(url, depth: depth + 1) }
                } else if name.hasSuffix(".h5") {
                    out.append(url.path)
                }
            }
        }
        walk(directory, depth: 0)
        return out.sorted()
    }

    /// Keeps the new state: removes the backup links.
    package func commit() {
        for l in links { unlink(l.backup) }
        links = []
        finished = true
    }

    /// Restores every file to its state at `init` and removes the files added since.
    /// Best effort: rename and unlink need no free space, so this works on a full disk.
    package func rollBack() {
        for l in links {
            // rename() is a no-op when both names are links to the same (unchanged) file, so
            // drop the backup name explicitly afterwards.
            rename(l.backup, l.file)
            unlink(l.backup)
        }
        links = []
        for file in historyFiles() where !existing.contains(file) { unlink(file) }
        let chk = directory.appendingPathComponent(checkpointFolder)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: chk.path)) ?? []
        where !existingCheckpoints.contains(name) && !name.hasPrefix(".") {
            unlink(chk.appendingPathComponent(name).path)
        }
        finished = true
    }

    /// Runs `body`; if it throws, rolls the directory back before rethrowing.
    package static func transaction<R>(in directory: URL, _ body: () throws -> R) throws -> R {
        let snapshot = try ResultsSnapshot(directory: directory)
        do {
            let r = try body()
            snapshot.commit()
            return r
        } catch {
            snapshot.rollBack()
            throw error
        }
    }
}
