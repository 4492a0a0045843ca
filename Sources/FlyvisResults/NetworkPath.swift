import Foundation

/// The checks that keep every network directory inside `<root>/results`: a task name is one
/// path component, a network id is flyvis's `EEEE/NNN`, and the resolved path is checked to
/// stay inside the results folder. Called before any directory is created, so a bad value
/// never writes (or, with `delete_if_exists`, deletes) anything elsewhere.
package enum NetworkPath {
    /// One component: not empty, not `.`/`..`, no `/` and no NUL, no leading `-` or `.`
    /// (hidden folders and option-like names only cause trouble in shells and globs).
    package static func validateTaskName(_ name: String) throws(PathError) {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "_-."))
        guard !name.isEmpty, name.count <= 200, name != ".", name != "..",
            !name.hasPrefix("."), !name.hasPrefix("-"),
            name.unicodeScalars.allSatisfy({ allowed.contains($0) })
        else {
            throw .invalidTaskName(name)
        }
    }

    /// `EEEE/NNN` with exactly 4 and 3 ASCII digits (flyvis's `f"{ensemble:04}/{network:03}"`).
    package static func validateNetworkID(_ id: String) throws(PathError) {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        func digits(_ s: Substring, _ n: Int) -> Bool { s.count == n && s.allSatisfy { $0.isASCII && $0.isNumber } }
        guard parts.count == 2, digits(parts[0], 4), digits(parts[1], 3) else { throw .invalidNetworkID(id) }
    }

    /// `<root>/results/<networkName>` after checking that every component is a plain name and
    /// that the standardized result is still below `<root>/results`.
    package static func resolve(root: URL, networkName: String) throws(PathError) -> URL {
        let parts = networkName.split(separator: "/", omittingEmptySubsequences: false)
        guard !networkName.hasPrefix("/"), !parts.isEmpty,
            parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.contains("\0") })
        else {
            throw .invalidNetworkName(networkName)
        }
        let results = ResultsLayout(root: root).results
        let url = results.appendingPathComponent(networkName).standardizedFileURL
        try checkInside(url, results: results)
        return url
    }

    /// Throws unless `url` is strictly below `results` (component-wise, after standardizing).
    package static func checkInside(_ url: URL, results: URL) throws(PathError) {
        let base = results.standardizedFileURL.pathComponents
        let path = url.standardizedFileURL.pathComponents
        guard path.count > base.count, Array(path.prefix(base.count)) == base else {
            throw .outsideResults(path: url.path, results: results.path)
        }
    }

    /// Throws unless `url`, with every symlink on its existing part resolved, still lies
    /// inside `results` (resolved the same way, so a results folder that is itself a link to
    /// scratch space is fine). A task, ensemble or member directory that links elsewhere
    /// would otherwise take writes, and `delete_if_exists`, outside the root.
    package static func checkResolvedInside(_ url: URL, results: URL) throws(PathError) {
        let base = resolveExisting(results.standardizedFileURL)
        guard let real = resolveExisting(url.standardizedFileURL) else {
            throw .outsideResults(path: "\(url.path) (a symlink on it points nowhere)", results: results.path)
        }
        let inside =
            base.map { b in
                real.pathComponents.count > b.pathComponents.count
                    && Array(real.pathComponents.prefix(b.pathComponents.count)) == b.pathComponents
            } ?? false
        guard inside else {
            throw .outsideResults(
                path: real.path == url.standardizedFileURL.path ? url.path : "\(url.path) (resolves to \(real.path))",
                results: results.path)
        }
    }

    /// Whether two paths name the same file once symlinks and relative parts are resolved
    /// (either may not exist yet).
    package static func samePath(_ a: String, _ b: String) -> Bool {
        func resolved(_ p: String) -> URL? { resolveExisting(URL(fileURLWithPath: p).standardizedFileURL) }
        guard let x = resolved(a), let y = resolved(b) else { return false }
        return x.standardizedFileURL.path == y.standardizedFileURL.path
    }

    /// `url` with its longest existing prefix resolved by `realpath` and the rest appended;
    /// nil when a component exists only as a dangling symlink.
    static func resolveExisting(_ url: URL) -> URL? {
        var existing = url
        var rest: [String] = []
        while true {
            if let r = realpath(existing.path, nil) {
                defer { free(r) }
                var out = URL(fileURLWithPath: String(cString: r))
                for c in rest { out.appendPathComponent(c) }
                return out
            }
            var st = stat()
            if lstat(existing.path, &st) == 0 { return nil }  // there, but a link to nothing
            guard existing.pathComponents.count > 1 else { return url }
            rest.insert(existing.lastPathComponent, at: 0)
            existing.deleteLastPathComponent()
        }
    }

    /// Throws if `url` or one of its ancestors below `results` exists as something other than a
    /// directory (Foundation would report only "Code=512 (null)" when creating it).
    package static func checkDirectoryComponents(_ url: URL, results: URL) throws(PathError) {
        let base = results.standardizedFileURL
        var components = Array(url.standardizedFileURL.pathComponents.dropFirst(base.pathComponents.count))
        var current = base
        var chain = [base]
        while !components.isEmpty { current.appendPathComponent(components.removeFirst()); chain.append(current) }
        for u in chain {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: u.path, isDirectory: &isDir), !isDir.boolValue {
                throw .notADirectory(path: u.path)
            }
        }
    }

    /// Whether `url` is a network directory as datamate marks it: `_meta.yaml` whose config
    /// has `type: NetworkDir`.
    package static func isNetworkDirectory(_ url: URL) -> Bool {
        guard let text = try? String(contentsOf: url.appendingPathComponent(ResultsSchema.meta), encoding: .utf8) else { return false }
        return text.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces) == "type: NetworkDir" }
    }

    /// Throws unless `url` (inside `results`) is a network directory, or a directory that
    /// holds nothing but `keep`, or missing: what `delete_if_exists=true` may delete.
    package static func checkDeletable(_ url: URL, results: URL, keep: Set<String> = []) throws(PathError) {
        try checkInside(url, results: results)
        try checkResolvedInside(url, results: results)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        guard isNetworkDirectory(url) || names.allSatisfy({ keep.contains($0) }) else {
            throw .notNetworkDirectory(path: url.path)
        }
    }

    /// Empties a network directory for `delete_if_exists=true`: everything inside it except
    /// the names in `keep` (the member lock, which must stay the same file while it is held).
    /// Refuses anything that is not a network directory or an empty directory, and never
    /// touches its parents.
    package static func clearNetworkDirectory(_ url: URL, results: URL, keep: Set<String> = []) throws {
        try checkDeletable(url, results: results, keep: keep)
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: url.path)) ?? [] where !keep.contains(name) {
            try fm.removeItem(at: url.appendingPathComponent(name))
        }
    }
}
