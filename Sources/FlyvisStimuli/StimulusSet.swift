import FlyvisHex

/// A set of stimulus movies on a hex lattice, made as flyvis 1.2.0's analysis makes them
/// (`flash_responses`, `moving_edge_responses`): the lead simulates each sample's movie and
/// writes the responses with these coordinates and parameters.
package protocol StimulusSet: Sendable {
    /// flyvis's group name: "flashes", "moving_edge" or "moving_bar".
    var name: String { get }
    var lattice: HexLattice { get }
    var sampleCount: Int { get }
    /// Frames per sample, after resampling and padding (every sample has this many).
    var frameCount: Int { get }
    var dt: Double { get }
    /// Seconds per frame as flyvis's analysis gives it: frame index × dt − t_pre.
    var time: [Double] { get }
    /// One value per sample and parameter, in flyvis's sample order ("radius", "intensity" for
    /// flashes; "angle", "width", "intensity", "speed" for moving edges and bars).
    var sampleParameters: [(name: String, values: [Double])] { get }
    /// Every parameter of the set under flyvis's config names (written as `config_*`).
    var configuration: [(name: String, value: StimulusParameterValue)] { get }
    /// Sample i's movie, frame-major (frameCount × lattice.count); NaN in padded frames.
    func render(sample: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws
}

extension StimulusSet {
    /// Each sample's value of the parameter `name` (the first of that name), or nil.
    package func sampleValues(_ name: String) -> [Double]? { sampleParameters.first { $0.name == name }?.values }

    /// The configuration value `name` (the first of that name), or nil.
    package func configurationValue(_ name: String) -> StimulusParameterValue? { configuration.first { $0.name == name }?.value }

    /// Sample i's movie as a new array (frameCount × lattice.count).
    package func render(sample: Int) throws -> [Float] {
        var out = [Float](repeating: 0, count: frameCount * lattice.count)
        try out.withUnsafeMutableBufferPointer { try render(sample: sample, into: $0) }
        return out
    }
}
