import Foundation

/// Where a results tree lies on disk: `<root>/results/<task>/<EEEE>/<NNN>`. The only place
/// that joins these components; network names from a config go through `NetworkPath.resolve`,
/// which checks that they stay inside `results`.
package struct ResultsLayout: Sendable, Equatable {
    package let root: URL

    package init(root: URL) { self.root = root }

    /// `<root>/results`, standardized (the base every path check compares against).
    package var results: URL { root.appendingPathComponent(ResultsSchema.resultsFolder).standardizedFileURL }

    /// `<root>/results/<task>/<EEEE>`.
    package func ensemble(task: String, ensembleID: Int) -> ResultsDirectory {
        ResultsDirectory(results.appendingPathComponent(task).appendingPathComponent(ResultsSchema.ensembleFolder(ensembleID)))
    }

    /// `<root>/results/<network_name>`, validated (see `NetworkPath.resolve`).
    package func network(name: String) throws(PathError) -> ResultsDirectory {
        ResultsDirectory(try NetworkPath.resolve(root: root, networkName: name))
    }
}

extension ResultsDirectory {
    /// A member folder of an ensemble directory (`NNN`).
    package func member(_ member: Int) -> ResultsDirectory { subdirectory(ResultsSchema.memberFolder(member)) }
    /// An evaluation split folder of a network directory.
    package func split(_ split: ResultsSchema.Split) -> ResultsDirectory { subdirectory(split.folder) }

    /// The members of an ensemble directory: its sub-directories whose names are all digits
    /// (`000`, `001`, …), as numbers, ascending.
    package func memberNumbers() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.compactMap { name -> Int? in
            var isDir: ObjCBool = false
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && $0.isNumber }),
                FileManager.default.fileExists(atPath: subdirectory(name).path, isDirectory: &isDir),
                isDir.boolValue
            else { return nil }
            return Int(name)
        }.sorted()
    }
}
