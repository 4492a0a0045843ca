import FlyvisNetwork

/// flyvis's `Network.stimulus_response`: every sample starts from one steady state (`tPre`
/// seconds of grey 0.5 from v = bias, computed at batch 1), without fade-in, and is integrated
/// at the stimulus's own dt. Samples run in batches through the fast forward and are handed
/// out batch by batch, so a stimulus set never needs to be in memory at once.
package struct StimulusResponse {
    package let network: Network
    package let dt: Double
    package let tPre: Double
    /// The nodes recorded, in the order of the output's cell axis.
    package let cells: [Int]
    package let batchSize: Int
    /// Frames integrated per engine call; bounds the engine's kept states (batch × chunk × nodes).
    package var chunkFrames = 40

    package init(network: Network, dt: Double, tPre: Double = 1.0, cells: [Int], batchSize: Int = 4) throws(ResponsesError) {
        guard dt > 0, dt.isFinite else { throw .invalidParameter("dt must be a positive number of seconds (got \(dt))") }
        guard tPre >= 0, tPre.isFinite else { throw .invalidParameter("t_pre must be a finite number of seconds ≥ 0 (got \(tPre))") }
        guard batchSize >= 1 else { throw .invalidParameter("the batch size must be at least 1 (got \(batchSize))") }
        guard !cells.isEmpty, cells.allSatisfy({ (0..<network.nodeCount).contains($0) }) else {
            throw .invalidParameter("the recorded cells must be node indices in 0..<\(network.nodeCount)")
        }
        self.network = network
        self.dt = dt
        self.tPre = tPre
        self.cells = cells
        self.batchSize = batchSize
    }

    /// Runs samples `0..<samples` of `frames` frames each. `render(i, buffer)` fills sample i's
    /// movie (frames × hexals, frame-major; NaN frames propagate as in flyvis). `body(range,
    /// values)` receives each batch's responses, (sample, frame, cell) for the samples in
    /// `range`. `shouldStop` is asked between batches.
    package func run(
        samples: Int, frames: Int,
        render: (Int, UnsafeMutableBufferPointer<Float>) throws -> Void,
        shouldStop: () -> Bool = { false },
        body: (Range<Int>, [Float]) throws -> Void
    ) throws {
        guard samples >= 0, frames >= 1 else {
            throw ResponsesError.invalidParameter("a stimulus needs at least one frame (got \(frames))")
        }
        let hexals = network.hexCount
        let nodes = network.nodeCount
        let steady = try network.steadyState(tPre: tPre, dt: dt, batch: 1)
        var movie = [Float](repeating: 0, count: batchSize * frames * hexals)
        var start = 0
        while start < samples {
            if shouldStop() { throw ResponsesError.interrupted }
            let b = min(batchSize, samples - start)
            if movie.count != b * frames * hexals { movie = [Float](repeating: 0, count: b * frames * hexals) }
            try movie.withUnsafeMutableBufferPointer { all in
                for k in 0..<b {
                    try render(start + k, UnsafeMutableBufferPointer(rebasing: all[(k * frames * hexals)..<((k + 1) * frames * hexals)]))
                }
            }
            let initial: Network.InitialState
            if let steady {
                var state = [Float](repeating: 0, count: b * nodes)
                for k in 0..<b { state.replaceSubrange((k * nodes)..<((k + 1) * nodes), with: steady) }
                initial = .given(state)
            } else {
                initial = .bias
            }
            let result = try network.simulate(
                movie: movie, batch: b, frames: frames, dt: dt, initialState: initial,
                nodes: .nodes(cells), chunkFrames: chunkFrames)
            try body(start..<(start + b), result.values)
            start += b
        }
    }
}
