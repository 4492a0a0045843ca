/// The coordinates of one member's moving-edge responses, named as in flyvis's `MovingEdge`
/// data set and its xarray: per sample `angle` (degrees), `width`, `intensity` and `speed`
/// (columns per second), per frame `time`, per cell `cellTypes`, and the edge's start and end
/// `offsets` (LED units of 2.25°), which fix the time masks. Responses are `[Float]` laid out
/// (sample, frame, cell); frames after a fast edge has finished may be NaN (flyvis pads each
/// speed to the slowest one's length).
package struct MovingEdgeCoordinates: Sendable, Equatable {
    package var angle: [Double]
    package var width: [Double]
    package var intensity: [Double]
    package var speed: [Double]
    /// Seconds from stimulus onset, `k·dt − t_pre` in flyvis.
    package var time: [Double]
    package var cellTypes: [String]
    package var offsets: [Double]

    /// `offsets` defaults to `moving_edge_responses`'s (−10, 11).
    package init(
        angle: [Double], width: [Double], intensity: [Double], speed: [Double], time: [Double],
        cellTypes: [String], offsets: [Double] = [-10, 11]
    ) {
        self.angle = angle
        self.width = width
        self.intensity = intensity
        self.speed = speed
        self.time = time
        self.cellTypes = cellTypes
        self.offsets = offsets
    }

    package var samples: Int { angle.count }
    package var frames: Int { time.count }
    package var cells: Int { cellTypes.count }

    /// Checks that the coordinates agree with each other and with `responsesCount` values.
    package func validate(responsesCount: Int) throws(TuningError) {
        guard samples > 0 else { throw .empty("moving-edge samples") }
        guard frames > 0 else { throw .empty("frames") }
        guard cells > 0 else { throw .empty("cell types") }
        for (name, values) in [("width", width), ("intensity", intensity), ("speed", speed)] where values.count != samples {
            throw .shape(what: name, expected: samples, found: values.count)
        }
        for (name, values) in [("angle", angle), ("width", width), ("intensity", intensity), ("speed", speed)] {
            if let bad = values.first(where: { !$0.isFinite }) {
                throw .invalidConfig(key: name, problem: "sample values must be finite (got \(bad))")
            }
        }
        guard responsesCount == samples * frames * cells else {
            throw .shape(what: "responses", expected: samples * frames * cells, found: responsesCount)
        }
        guard offsets.count == 2, offsets.allSatisfy(\.isFinite) else {
            throw .invalidConfig(key: "offsets", problem: "needs two finite values, start and end (got \(offsets))")
        }
        if let s = speed.first(where: { !($0.isFinite && $0 > 0) }) {
            throw .invalidConfig(key: "speeds", problem: "must be positive (got \(s))")
        }
    }
}
