import FlyvisBase
import FlyvisResults
import FlyvisSolver
import FlyvisStimuli
import Foundation

/// The responses workload of `bench`, against flyvis on the same checkpoint in the same run
/// (`scripts/bench_responses.py`): the moving-edge responses of the reference file's subset
/// (4 angles × 2 speeds × 2 intensities) with the rendering cached, and separately the
/// rendering of one angle-intensity set of the default moving edges from scratch.
package struct ResponsesBenchmark {
    package struct Result: Sendable {
        /// Median milliseconds of one pass over the subset (steady state + 16 samples).
        package var responsesMilliseconds: Double
        package var samples: Int
        package var frames: Int
        /// Seconds to render angle 0, intensity 1, the six default speeds (every sample
        /// assembled at dt 1/200), without a cache.
        package var renderSeconds: Double
        package var peakResidentMB: Double
    }

    /// A flyvis network directory (e.g. the extent-15 reference's `flow/9995/000`).
    package var member: URL
    package var threads = 1
    package var repetitions = 3
    package var cacheRoot: URL

    package init(member: URL, cacheRoot: URL) {
        self.member = member
        self.cacheRoot = cacheRoot
    }

    package func run() throws -> Result {
        let trained = try TrainedNetwork(directory: ResultsDirectory(member), checkpoint: .best, threads: threads)
        let network = trained.network
        let cells = try CellCoordinates(.central, connectome: network.connectome)
        var request = StimulusRequest()
        request.kinds = [.movingEdge]
        request.angles = [0, 90, 180, 270]
        request.speeds = [19, 25]
        let set = try request.sets(extent: network.connectome.lattice.extent, cache: cacheRoot)[0]
        let runner = try StimulusResponse(network: network, dt: set.dt, cells: cells.nodes, batchSize: 4)
        var times: [Double] = []
        var checksum = 0.0
        for _ in 0..<max(1, repetitions) {
            let start = DispatchTime.now().uptimeNanoseconds
            try runner.run(
                samples: set.sampleCount, frames: set.frameCount,
                render: { i, buffer in try set.render(sample: i, into: buffer) }
            ) { _, values in
                checksum += Double(values.first { $0.isFinite } ?? 0)
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        precondition(checksum.isFinite)
        // Rendering from scratch: the groups (what flyvis renders and caches) and every sample
        // assembled at the stimulus dt (what flyvis's data set builds on init).
        let edge = try MovingEdge(angles: [0], intensities: [1], extent: network.connectome.lattice.extent)
        let start = DispatchTime.now().uptimeNanoseconds
        var movie = [Float](repeating: 0, count: edge.frameCount * edge.lattice.count)
        for i in 0..<edge.sampleCount { try movie.withUnsafeMutableBufferPointer { try edge.render(sample: i, into: $0) } }
        let renderSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Result(
            responsesMilliseconds: times.sorted()[times.count / 2], samples: set.sampleCount, frames: set.frameCount,
            renderSeconds: renderSeconds, peakResidentMB: peakResidentMB())
    }
}
