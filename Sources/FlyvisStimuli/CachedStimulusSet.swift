import FlyvisHDF5
import FlyvisHex
import Foundation

/// A stimulus set read from `StimulusCache`: each `render(sample:)` reads the sample's group of
/// frames from the file (one hyperslab) and assembles the movie, so memory holds one sample.
package struct CachedStimulusSet: StimulusSet {
    package let name: String
    package let lattice: HexLattice
    package let dt: Double
    package let time: [Double]
    package let sampleParameters: [(name: String, values: [Double])]
    package let configuration: [(name: String, value: StimulusParameterValue)]
    package let layout: FrameLayout
    /// The cache file.
    package let file: URL

    init(_ set: some CacheableStimulusSet, file: URL) {
        name = set.name
        lattice = set.lattice
        dt = set.dt
        time = set.time
        sampleParameters = set.sampleParameters
        configuration = set.configuration
        layout = set.layout
        self.file = file
    }

    package var sampleCount: Int { layout.sampleCount }
    package var frameCount: Int { layout.frameCount }

    package func render(sample: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        try layout.check(sample: sample, buffer: buffer.count, set: name)
        var frames = [Float](repeating: 0, count: layout.groupSize)
        do {
            let f = try HDF5File(path: file.path, mode: .readOnly)
            try frames.withUnsafeMutableBufferPointer {
                try f.readHyperslab(
                    "frames", start: [layout.sampleGroup[sample], 0, 0],
                    count: [1, layout.framesPerGroup, layout.hexals], into: $0)
            }
        } catch {
            throw StimulusError.cache(path: file.path, problem: "\(error); delete the file to render it again")
        }
        frames.withUnsafeBufferPointer { layout.assemble(sample: sample, frames: $0, into: buffer) }
    }
}
