import FlyvisStimuli
import Foundation

/// Which stimulus sets a readout runs and with which parameters; the defaults are flyvis's
/// `flash_responses` and `moving_edge_responses`. A subset (fewer angles or speeds) gives the
/// same arrays as flyvis's for that subset.
package struct StimulusRequest: Sendable, Equatable {
    package enum Kind: String, Sendable, CaseIterable {
        case flashes
        case movingEdge = "moving_edge"

        /// "flashes", "moving-edge" or "moving_edge".
        package init(parsing text: String) throws(ResponsesError) {
            switch text.replacingOccurrences(of: "-", with: "_") {
            case "flashes", "flash": self = .flashes
            case "moving_edge", "moving_edges", "edges": self = .movingEdge
            default:
                throw .invalidParameter("unknown stimulus '\(text)' in --stimuli; use flashes, moving-edge or both (flashes,moving-edge)")
            }
        }
    }

    package var kinds: [Kind] = Kind.allCases
    package var dt = 1.0 / 200
    // Flashes (flash_responses).
    package var radius = [-1, 6]
    package var dynamicRange: [Double] = [0, 1]
    package var tStim = 1.0
    package var alternations = [0, 1, 0]
    package var flashTPre = 1.0
    // Moving edges (moving_edge_responses).
    package var angles: [Double] = Array(stride(from: 0.0, to: 360, by: 30))
    package var intensities: [Double] = [0, 1]
    package var speeds: [Double] = [2.4, 4.8, 9.7, 13, 19, 25]
    package var offsets = -10..<11
    package var height = 80.0
    package var postPadMode = PostPadMode.continue
    package var edgeTPre = 1.0
    package var tPost = 1.0

    package init() {}

    /// Every parameter in one line: equal keys mean equal stimuli.
    package var key: String {
        "kinds=\(kinds.map(\.rawValue)) dt=\(dt) radius=\(radius) dynamic_range=\(dynamicRange) t_stim=\(tStim) "
            + "alternations=\(alternations) flash_t_pre=\(flashTPre) angles=\(angles) intensities=\(intensities) "
            + "speeds=\(speeds) offsets=\(offsets.lowerBound),\(offsets.upperBound) height=\(height) "
            + "post_pad_mode=\(postPadMode.rawValue) edge_t_pre=\(edgeTPre) t_post=\(tPost)"
    }

    /// The sets on the lattice of `extent`, rendered through (or read from) the cache under `root`.
    package func sets(extent: Int, cache root: URL, log: (String) -> Void = { _ in }) throws -> [any StimulusSet] {
        let cache = StimulusCache(root: root)
        return try kinds.map { kind -> any StimulusSet in
            switch kind {
            case .flashes:
                return try cache.load(
                    try Flashes(
                        radius: radius, dynamicRange: dynamicRange, tStim: tStim, tPre: flashTPre,
                        alternations: alternations, dt: dt, extent: extent), log: log)
            case .movingEdge:
                return try cache.load(
                    try MovingEdge(
                        angles: angles, intensities: intensities, speeds: speeds, offsets: offsets,
                        height: height, postPadMode: postPadMode, tPre: edgeTPre, tPost: tPost,
                        dt: dt, extent: extent), log: log)
            }
        }
    }
}
