import FlyvisHDF5
import FlyvisStimuli
import FlyvisTestSupport
import Foundation
import Testing

/// Our stimuli against flyvis 1.2.0's own, group by group. Each set is built from the group's
/// `config_*` attributes, so any file of this schema tests it (FLYVIS_RESPONSES_REFERENCE,
/// FLYVIS_STIMULI_REFERENCE). Tolerance 1e-6 absolute (the reference README's for stimuli),
/// NaN exactly where flyvis has NaN.
@Suite struct StimulusReferenceTests {
    static let files = [Fixtures.responses, Fixtures.stimuli]

    @Test(
        "every group's stimulus, time, sample coordinates and config match flyvis",
        .enabled(if: files.allSatisfy { FileManager.default.fileExists(atPath: $0.path) }),
        arguments: files)
    func groupsMatchFlyvis(file: URL) throws {
        let f = try Fixtures.open(file)
        let groups = try f.children("/").filter { $0.hasPrefix("flashes") || $0.hasPrefix("moving_") }
        #expect(!groups.isEmpty, "no stimulus groups in \(file.lastPathComponent)")
        for group in groups {
            let set = try ReferenceGroup(file: f, group: group).stimulusSet()
            try compare(set, with: f, group: group)
        }
    }

    func compare(_ set: some StimulusSet, with f: HDF5File, group: String) throws {
        let label = "\(f.path.split(separator: "/").last!)/\(group)"
        let shape = try f.shape("\(group)/stimulus")
        #expect(shape == [set.sampleCount, set.frameCount, 1, set.lattice.count], "\(label): shape")
        guard shape == [set.sampleCount, set.frameCount, 1, set.lattice.count] else { return }

        let n = set.frameCount * set.lattice.count
        var ours = [Float](repeating: 0, count: n), theirs = [Float](repeating: 0, count: n)
        var worst: Float = 0
        for sample in 0..<set.sampleCount {
            try ours.withUnsafeMutableBufferPointer { try set.render(sample: sample, into: $0) }
            try theirs.withUnsafeMutableBufferPointer {
                try f.readHyperslab(
                    "\(group)/stimulus", start: [sample, 0, 0, 0], count: [1, set.frameCount, 1, set.lattice.count], into: $0)
            }
            let nanOurs = ours.map(\.isNaN), nanTheirs = theirs.map(\.isNaN)
            #expect(
                nanOurs == nanTheirs,
                "\(label) sample \(sample): NaN at other frames (\(nanOurs.filter { $0 }.count) vs \(nanTheirs.filter { $0 }.count))")
            let finiteOurs = zip(ours, nanTheirs).filter { !$0.1 }.map(\.0)
            let finiteTheirs = theirs.filter { !$0.isNaN }
            #expect(!finiteTheirs.isEmpty)
            let d = maxAbsDiff(finiteOurs, finiteTheirs)
            #expect(d <= 1e-6, "\(label) sample \(sample): max |Δ| = \(d)")
            worst = max(worst, d)
        }
        print("\(label): \(set.sampleCount) samples × \(set.frameCount) frames, max |Δ| = \(worst)")

        let time = try f.read("\(group)/time", as: Double.self).values
        #expect(maxAbsDiff(set.time, time) <= 1e-12, "\(label): time")

        let coordinates = try f.children(group).filter { $0.hasPrefix("sample_") }
        #expect(!coordinates.isEmpty)
        let ourCoordinates = Dictionary(uniqueKeysWithValues: set.sampleParameters.map { ($0.name, $0.values) })
        for name in coordinates {
            let reference = try f.read("\(group)/\(name)", as: Double.self).values
            let key = String(name.dropFirst("sample_".count))
            #expect(ourCoordinates[key] == reference, "\(label): \(name)")
        }

        let attributes = try f.attributeNames(on: group).filter { $0.hasPrefix("config_") }
        let ourConfiguration = Dictionary(uniqueKeysWithValues: set.configuration.map { ($0.name, $0.value) })
        #expect(Set(attributes.map { String($0.dropFirst("config_".count)) }) == Set(ourConfiguration.keys), "\(label): config keys")
        for attribute in attributes {
            let key = String(attribute.dropFirst("config_".count))
            let reference = try ReferenceGroup.value(of: attribute, in: f, group: group)
            #expect(
                ourConfiguration[key].map { matches($0, reference) } == true,
                "\(label): \(attribute) is \(reference), ours \(ourConfiguration[key].map { "\($0)" } ?? "missing")")
        }
    }

    /// Numbers compare by value whether flyvis stored a scalar or a one-element list.
    func matches(_ a: StimulusParameterValue, _ b: StimulusParameterValue) -> Bool {
        func numbers(_ v: StimulusParameterValue) -> [Double]? {
            switch v {
            case let .number(x): return [x]
            case let .numbers(xs): return xs
            case .string: return nil
            }
        }
        if case let .string(x) = a, case let .string(y) = b { return x == y }
        guard let x = numbers(a), let y = numbers(b) else { return false }
        return x.count == y.count && zip(x, y).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) }
    }
}

/// A reference group's `config_*` attributes, turned into our set.
struct ReferenceGroup {
    let file: HDF5File
    let group: String

    static func value(of attribute: String, in f: HDF5File, group: String) throws -> StimulusParameterValue {
        if let s = try? f.stringAttribute(attribute, on: group) { return .string(s) }
        let xs = try f.attributeArray(attribute, on: group, as: Double.self)
        return .numbers(xs)
    }

    func numbers(_ key: String) throws -> [Double] {
        try file.attributeArray("config_\(key)", on: group, as: Double.self)
    }

    func number(_ key: String) throws -> Double {
        let xs = try numbers(key)
        guard xs.count == 1 else { throw ReferenceError.notScalar("\(group)@config_\(key)") }
        return xs[0]
    }

    enum ReferenceError: Error { case notScalar(String), unknownGroup(String), badPadMode(String) }

    func stimulusSet() throws -> any StimulusSet {
        if group.hasPrefix("flashes") {
            return try Flashes(
                radius: numbers("radius").map { Int($0) }, dynamicRange: numbers("dynamic_range"),
                tStim: number("t_stim"), tPre: number("t_pre"),
                alternations: numbers("alternations").map { Int($0) }, dt: number("dt"))
        }
        let offsets = try numbers("offsets")
        let mode = try file.stringAttribute("config_post_pad_mode", on: group)
        guard let padMode = PostPadMode(rawValue: mode) else { throw ReferenceError.badPadMode(mode) }
        if group.hasPrefix("moving_edge") {
            return try MovingEdge(
                angles: numbers("angles"), intensities: numbers("intensities"), speeds: numbers("speeds"),
                offsets: Int(offsets[0])..<Int(offsets[1]), height: number("height"),
                postPadMode: padMode, tPre: number("t_pre"), tPost: number("t_post"), dt: number("dt"),
                shuffleOffsets: number("shuffle_offsets") != 0)
        }
        if group.hasPrefix("moving_bar") {
            return try MovingBar(
                widths: numbers("widths"), offsets: Int(offsets[0])..<Int(offsets[1]),
                intensities: numbers("intensities"), speeds: numbers("speeds"), height: number("height"),
                dt: number("dt"), barLocHorizontal: number("bar_loc_horizontal"), postPadMode: padMode,
                tPre: number("t_pre"), tPost: number("t_post"),
                shuffleOffsets: number("shuffle_offsets") != 0, angles: numbers("angles"))
        }
        throw ReferenceError.unknownGroup(group)
    }
}

/// Bitwise equality (NaN equal to NaN) of two arrays of one length; false when either is empty,
/// so a missing or short output fails.
func bitwiseEqual(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Bool {
    guard a.count == b.count, !a.isEmpty else { return false }
    return a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
}
