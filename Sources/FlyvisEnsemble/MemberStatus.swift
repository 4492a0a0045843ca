import FlyvisBase
import FlyvisHDF5
import FlyvisMPI
import FlyvisResults
import Foundation

/// A member's training state as recorded in `<netdir>/_status.yaml`, so that `--resume` and
/// `summary` know which members finished, failed or were interrupted, without re-deriving it
/// from loss files. (The underscore keeps it out of datamate's listing, like `_meta.yaml`.)
package struct MemberStatus: Equatable, Sendable {
    package var state: ProgressReport.State
    package var iteration: Int
    package var error: String?

    package init(state: ProgressReport.State, iteration: Int, error: String? = nil) {
        self.state = state
        self.iteration = iteration
        self.error = error
    }

    package static func url(in dir: ResultsDirectory) -> URL { dir.url.appendingPathComponent(ResultsSchema.status) }

    /// Whether a recorded error is a full disk or quota (`ResultsError.noSpace`'s wording):
    /// such a member continues on a plain rerun once space is freed.
    package static func isOutOfSpace(_ error: String?) -> Bool {
        guard let error else { return false }
        return ["no space left on device while writing", "disk quota exceeded while writing"].contains { error.contains($0) }
    }

    package func write(to dir: ResultsDirectory) throws {
        var text = "state: \(state.rawValue)\niteration: \(iteration)\n"
        if let error {
            let oneLine = error.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "'", with: "''")
            text += "error: '\(oneLine)'\n"
        }
        try FileManager.default.createDirectory(at: dir.url, withIntermediateDirectories: true)
        try AtomicFile.write(Self.url(in: dir), text: text)
    }

    package static func read(from dir: ResultsDirectory) -> MemberStatus? {
        guard let text = try? String(contentsOf: url(in: dir), encoding: .utf8) else { return nil }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("'"), value.hasSuffix("'"), value.count >= 2 {
                value = String(value.dropFirst().dropLast()).replacingOccurrences(of: "''", with: "'")
            }
            fields[key] = value
        }
        guard let state = fields["state"].flatMap(ProgressReport.State.init(rawValue:)),
            let iteration = fields["iteration"].flatMap(Int.init)
        else { return nil }
        return MemberStatus(state: state, iteration: iteration, error: fields["error"])
    }
}
