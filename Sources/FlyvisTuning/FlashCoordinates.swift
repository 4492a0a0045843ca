/// The coordinates of one member's flash responses, named as in flyvis's `Flashes` data set and
/// its xarray: per sample `radius` and `intensity`, per frame `time`, per cell `cellTypes`, and
/// the configuration values the flash response index reads (`dt`, `t_stim`, `alternations`).
/// Responses that go with them are `[Float]` laid out (sample, frame, cell).
package struct FlashCoordinates: Sendable, Equatable {
    package var radius: [Double]
    package var intensity: [Double]
    /// Seconds from stimulus onset, `k·dt − t_pre` in flyvis.
    package var time: [Double]
    package var cellTypes: [String]
    package var dt: Double
    package var tStim: Double
    package var alternations: [Double]

    /// Defaults are `flash_responses`'s: dt 1/200, t_stim 1 s, alternations (0, 1, 0).
    package init(
        radius: [Double], intensity: [Double], time: [Double], cellTypes: [String],
        dt: Double = 1.0 / 200, tStim: Double = 1, alternations: [Double] = [0, 1, 0]
    ) {
        self.radius = radius
        self.intensity = intensity
        self.time = time
        self.cellTypes = cellTypes
        self.dt = dt
        self.tStim = tStim
        self.alternations = alternations
    }

    package var samples: Int { radius.count }
    package var frames: Int { time.count }
    package var cells: Int { cellTypes.count }

    /// Checks that the coordinates agree with each other and with `responsesCount` values.
    package func validate(responsesCount: Int) throws(TuningError) {
        guard samples > 0 else { throw .empty("flash samples") }
        guard frames > 0 else { throw .empty("frames") }
        guard cells > 0 else { throw .empty("cell types") }
        guard intensity.count == samples else { throw .shape(what: "intensity", expected: samples, found: intensity.count) }
        guard responsesCount == samples * frames * cells else {
            throw .shape(what: "responses", expected: samples * frames * cells, found: responsesCount)
        }
        // flyvis asserts this: the index compares the flash against the grey before it.
        guard alternations == [0, 1, 0] else {
            throw .invalidConfig(key: "alternations", problem: "is \(alternations); the flash response index is defined for (0, 1, 0)")
        }
        guard dt.isFinite, dt > 0 else { throw .invalidConfig(key: "dt", problem: "must be positive (got \(dt))") }
        guard tStim.isFinite else { throw .invalidConfig(key: "t_stim", problem: "must be finite (got \(tStim))") }
    }
}
