import FlyvisBase
import FlyvisConfig
import FlyvisResults
import Foundation

/// Opens a member's network directory the safe way, before anything else is written:
/// validated names (`task_name` one component, `ensemble_and_network_id` `EEEE/NNN`), a path
/// that stays inside `<root>/results`, the member lock, the removal of temporaries that
/// killed runs left behind, and `delete_if_exists` limited to a real network directory.
package enum MemberDirectory {
    /// Where a config's network lives, validated: `task_name` and `ensemble_and_network_id`
    /// first (network_name is built from them, so the error names the one that is wrong), then
    /// the resolved path; plus the member id (ensemble, network number) it names.
    package static func locate(config: Config, root: URL) throws -> (url: URL, ensembleID: Int, member: Int) {
        try NetworkPath.validateTaskName(try text(config, "task_name"))
        let id = try text(config, "ensemble_and_network_id")
        try NetworkPath.validateNetworkID(id)
        let parts = id.split(separator: "/").compactMap { Int($0) }  // validated: 4 and 3 digits
        let url = try NetworkPath.resolve(root: root, networkName: try config.string("network_name"))
        return (url, parts[0], parts[1])
    }

    static func open(config: Config, root: URL, resume: Bool, log: TrainingLog) throws -> (directory: ResultsDirectory, lock: MemberLock?) {
        let results = ResultsLayout(root: root).results
        let url = try locate(config: config, root: root).url
        try NetworkPath.checkDirectoryComponents(url, results: results)
        // Symlinks are resolved before anything is written: the member directory, and the
        // folders results are written into, must lie inside <root>/results.
        try NetworkPath.checkResolvedInside(url, results: results)
        for sub in [CheckpointSchema.folder] + ResultsSchema.Split.allCases.map(\.folder) {
            let child = url.appendingPathComponent(sub)
            try NetworkPath.checkDirectoryComponents(child, results: results)
            try NetworkPath.checkResolvedInside(child, results: url)
        }
        let fm = FileManager.default
        // resume=true never deletes (flyvis stores delete_if_exists: true in _meta.yaml).
        let deleteAsked = try config.bool(RunFlag.deleteIfExists.key) && fm.fileExists(atPath: url.path)
        if deleteAsked && resume { log.warning("delete_if_exists=true is ignored with resume=true: \(url.path) is kept") }
        let deleteRequested = deleteAsked && !resume
        if deleteRequested { try NetworkPath.checkDeletable(url, results: results, keep: [MemberLock.fileName]) }

        do {
            try fm.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            let classified = AtomicFile.classify(error, target: url.path)
            if classified is FileWriteError { throw classified }
            throw FileWriteError.io(path: url.path, reason: plainReason(error))
        }
        var lock: MemberLock?
        do {
            lock = try MemberLock(directory: url)
        } catch {
            // error is a MemberLockError (typed throws).
            guard case .unsupported = error else { throw error }
            log.warning("\(error)")
        }
        let removed = AtomicFile.removeStaleTemporaries(in: url, ownerIsGone: lock != nil)
        if !removed.isEmpty {
            log.info("Removed \(removed.count) temporary file(s) left by an interrupted run in \(url.path)")
        }
        if deleteRequested {
            log.warning("delete_if_exists=true: removing the contents of \(url.path)")
            try NetworkPath.clearNetworkDirectory(url, results: results, keep: [MemberLock.fileName])
        }
        return (ResultsDirectory(url), lock)
    }

    /// The POSIX reason inside a Foundation file error ("Permission denied"), not its
    /// "Code=513 (null)".
    static func plainReason(_ error: Error) -> String {
        let ns = error as NSError
        if let u = ns.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(u.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        return ns.localizedFailureReason ?? "\(error)"
    }

    /// A config value as text for validation; numbers (`ensemble_and_network_id=7`) included,
    /// so that the error can show the expected form rather than a type.
    static func text(_ config: Config, _ key: String) throws -> String {
        switch config.value(key) {
        case let .int(i)?: return String(i)
        case let .double(d)?: return String(d)
        default: return try config.string(key)
        }
    }
}
