/// The tasks of flyvis's data sets: `flow` and `depth`, which decoders learn, and `lum`, the
/// input luminance, which `task.dataset.tasks` may also list. The one list of them.
package enum TaskName: String, CaseIterable, Sendable {
    case flow, depth, lum

    /// Channels per hexal of the task's target (flow: u and v; depth: one); nil for the input.
    package var targetChannels: Int? {
        switch self {
        case .flow: return 2
        case .depth: return 1
        case .lum: return nil
        }
    }

    /// The tasks with a decoder.
    package static var targets: [TaskName] { allCases.filter { $0.targetChannels != nil } }

    /// "flow, depth, lum", for errors that list the allowed values.
    package static var allowed: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
