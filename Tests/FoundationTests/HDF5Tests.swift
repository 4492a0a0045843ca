import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisHDF5

/// Deterministic pseudo-random values, so round trips check more than constants.
func sampleValues<T>(_ n: Int, _ make: (Int) -> T) -> [T] { (0..<n).map(make) }

@Suite struct HDF5RoundTripTests {
    @Test func everyTypeAndRank() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("types.h5").path
        let shapes: [[Int]] = [[], [7], [3, 4], [2, 3, 5], [2, 1, 3, 2]]
        do {
            let f = try HDF5File(path: path, mode: .truncate)
            for (k, shape) in shapes.enumerated() {
                let n = shape.reduce(1, *)
                try f.write("f32/r\(k)", sampleValues(n) { Float($0) * 0.25 - 3.5 }, shape: shape)
                try f.write("f64/r\(k)", sampleValues(n) { Double($0) * 1e-9 + 1e300 / Double($0 + 1) }, shape: shape)
                try f.write("i32/r\(k)", sampleValues(n) { Int32($0) - Int32.max / 2 }, shape: shape)
                try f.write("i64/r\(k)", sampleValues(n) { Int64($0) * 1_000_000_000_007 }, shape: shape)
                try f.write("u8/r\(k)", sampleValues(n) { UInt8(($0 * 37) % 256) }, shape: shape)
            }
            try f.close()
        }
        let f = try HDF5File(path: path, mode: .readOnly)
        for (k, shape) in shapes.enumerated() {
            let n = shape.reduce(1, *)
            let a: HDF5Array<Float> = try f.read("f32/r\(k)")
            #expect(a.shape == shape)
            #expect(a.values == sampleValues(n) { Float($0) * 0.25 - 3.5 })
            #expect(
                try f.read("f64/r\(k)", as: Double.self).values
                    == sampleValues(n) { Double($0) * 1e-9 + 1e300 / Double($0 + 1) })
            #expect(try f.read("i32/r\(k)", as: Int32.self).values == sampleValues(n) { Int32($0) - Int32.max / 2 })
            #expect(try f.read("i64/r\(k)", as: Int64.self).values == sampleValues(n) { Int64($0) * 1_000_000_000_007 })
            #expect(try f.read("u8/r\(k)", as: UInt8.self).values == sampleValues(n) { UInt8(($0 * 37) % 256) })
            #expect(try f.shape("i64/r\(k)") == shape)
        }
        #expect(try f.children("f32") == (0..<shapes.count).map { "r\($0)" })
        #expect(try f.readScalar("f32/r0", as: Float.self) == -3.5)
    }

    @Test func shapeChecksAndTypeMismatch() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("shape.h5").path
        let f = try HDF5File(path: path, mode: .truncate)
        try f.write("x", [Float](repeating: 1, count: 6), shape: [2, 3])
        #expect(try f.read("x", as: Float.self, expectShape: [-1, 3]).count == 6)
        #expect(throws: HDF5Error.shapeMismatch(file: path, object: "x", expected: [3, 2], found: [2, 3])) {
            _ = try f.read("x", as: Float.self, expectShape: [3, 2])
        }
        #expect(throws: HDF5Error.typeMismatch(file: path, object: "x", expected: "int64", found: "floating-point")) {
            _ = try f.read("x", as: Int64.self)
        }
        #expect(throws: HDF5Error.objectNotFound(file: path, object: "missing/y")) {
            _ = try f.read("missing/y", as: Float.self)
        }
        #expect(throws: HDF5Error.self) { try f.write("bad", [Float(1)], shape: [2]) }
    }

    @Test func stringsAndAttributes() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("attrs.h5").path
        let names = ["R1", "CT1(Lo1)", "Tm5Y", "", "ünïcode"]
        do {
            let f = try HDF5File(path: path, mode: .truncate)
            try f.writeStrings("connectome/types", names)
            try f.setAttribute("n_nodes", Int64(45669), on: "connectome")
            try f.setAttribute("dt", Float(0.02), on: "/")
            try f.setAttribute("shape", [Int32(8), 2], on: "connectome/types")
            try f.setAttribute("matrix", [Double(1), 2, 3, 4, 5, 6], shape: [2, 3], on: "/")
            try f.setAttribute("label", string: "flow ensemble 0045", on: "connectome")
            try f.close()
        }
        let f = try HDF5File(path: path, mode: .readOnly)
        #expect(try f.readStrings("connectome/types") == names)
        #expect(try f.attribute("n_nodes", on: "connectome", as: Int64.self) == 45669)
        #expect(try f.attribute("dt", as: Float.self) == 0.02)
        #expect(try f.attributeArray("shape", on: "connectome/types", as: Int32.self) == [8, 2])
        #expect(try f.attributeArray("matrix", as: Double.self) == [1, 2, 3, 4, 5, 6])
        #expect(try f.stringAttribute("label", on: "connectome") == "flow ensemble 0045")
        #expect(try f.attributeNames(on: "connectome").sorted() == ["label", "n_nodes"])
        #expect(throws: HDF5Error.self) { _ = try f.attribute("nope", as: Float.self) }
    }

    @Test func appendSurvivesCloseAndReopen() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("loss.h5").path
        do {
            let f = try HDF5File(path: path, mode: .truncate)
            try f.append("data", [Float(3.0)], chunkRows: 4)
            try f.append("data", [Float(2.5), 2.0])
            try f.append("grid", [Double](repeating: 1, count: 6), rowShape: [2, 3])
            try f.close()
        }
        do {
            let f = try HDF5File(path: path, mode: .readWrite)
            try f.append("data", [Float(1.5)])
            try f.append("grid", [Double](repeating: 2, count: 12), rowShape: [2, 3])
            #expect(throws: HDF5Error.self) { try f.append("grid", [Double(1)], rowShape: [1]) }
            try f.flush()
            try f.close()
        }
        do {
            let f = try HDF5File(path: path, mode: .readWrite)
            #expect(try f.read("data", as: Float.self).values == [3.0, 2.5, 2.0, 1.5])
            let g: HDF5Array<Double> = try f.read("grid")
            #expect(g.shape == [3, 2, 3])
            #expect(g.values == [Double](repeating: 1, count: 6) + [Double](repeating: 2, count: 12))
            // Rolling back to a checkpoint and appending again overwrites nothing before it.
            try f.resize("data", rows: 2)
            try f.append("data", [Float(9)])
            #expect(try f.read("data", as: Float.self).values == [3.0, 2.5, 9])
        }
    }

    @Test func compressedChunkedDataset() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("gz.h5").path
        let values = sampleValues(10_000) { Float($0 % 17) }
        let f = try HDF5File(path: path, mode: .truncate)
        try f.write("z", values, shape: [100, 100], chunkRows: 10, compression: 4)
        try f.close()
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        #expect(size < values.count * 4 / 2)
        #expect(try HDF5File(path: path, mode: .readOnly).read("z", as: Float.self).values == values)
    }

    @Test func hyperslabReadsOneBlock() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("slab.h5").path
        let values = sampleValues(4 * 5 * 6) { Float($0) }
        let f = try HDF5File(path: path, mode: .truncate)
        try f.write("plain", values, shape: [4, 5, 6])
        try f.write("gz", values, shape: [4, 5, 6], compression: 4)
        try f.close()
        let r = try HDF5File(path: path, mode: .readOnly)
        for name in ["plain", "gz"] {
            var block = [Float](repeating: -1, count: 2 * 6 + 1)
            try block.withUnsafeMutableBufferPointer { try r.readHyperslab(name, start: [2, 3, 0], count: [1, 2, 6], into: $0) }
            #expect(Array(block.prefix(12)) == Array(values[(2 * 30 + 18)..<(2 * 30 + 30)]))
            #expect(block[12] == -1)  // nothing past the block
            #expect(throws: HDF5Error.self) {
                try block.withUnsafeMutableBufferPointer { try r.readHyperslab(name, start: [3, 4, 0], count: [1, 2, 6], into: $0) }
            }
            #expect(throws: HDF5Error.self) {
                try block.withUnsafeMutableBufferPointer { try r.readHyperslab(name, start: [0, 0, 0], count: [1, 5, 6], into: $0) }
            }
            var wrongType = [Int32](repeating: 0, count: 6)
            #expect(throws: HDF5Error.self) {
                try wrongType.withUnsafeMutableBufferPointer { try r.readHyperslab(name, start: [0, 0, 0], count: [1, 1, 6], into: $0) }
            }
        }
    }

    @Test func truncatedOrCorruptedFileGivesClearError() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.h5").path
        do {
            let f = try HDF5File(path: good, mode: .truncate)
            try f.write("big", sampleValues(50_000) { Float($0) }, shape: [50_000])
            try f.close()
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        // Truncated: the tail (with the data and possibly metadata) is missing.
        let truncated = dir.appendingPathComponent("truncated.h5").path
        try bytes.prefix(bytes.count / 3).write(to: URL(fileURLWithPath: truncated))
        do {
            let f = try HDF5File(path: truncated, mode: .readOnly)
            _ = try f.read("big", as: Float.self)
            Issue.record("reading a truncated file must fail")
        } catch {
            #expect(error.description.contains("truncated.h5"))
        }
        // Corrupted: the superblock signature is overwritten.
        let corrupted = dir.appendingPathComponent("corrupted.h5").path
        var broken = bytes
        broken.replaceSubrange(0..<16, with: [UInt8](repeating: 0x5A, count: 16))
        try broken.write(to: URL(fileURLWithPath: corrupted))
        #expect(throws: HDF5Error.notHDF5(file: corrupted)) {
            _ = try HDF5File(path: corrupted, mode: .readOnly)
        }
        #expect(throws: HDF5Error.fileNotFound(file: dir.appendingPathComponent("none.h5").path)) {
            _ = try HDF5File(path: dir.appendingPathComponent("none.h5").path, mode: .readOnly)
        }
        #expect(throws: HDF5Error.self) { _ = try HDF5File(path: good, mode: .createExclusive) }
    }
}

/// A dataset whose shape is absurd (a damaged or hostile file) is a clear error when read, not
/// an overflow trap or an attempt to allocate terabytes.
@Suite struct HostileHDF5Tests {
    @Test func absurdShapeIsAnError() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("huge.h5").path
        do {
            let f = try HDF5File(path: path, mode: .truncate)
            // 2^40 elements, never written: HDF5 allocates contiguous storage only on a write.
            try f.createDataset("data", of: Float.self, shape: [1 << 20, 1 << 20])
            try f.write("small", [Float(1), 2, 3], shape: [3])
            try f.close()
        }
        let f = try HDF5File(path: path, mode: .readOnly)
        #expect(try f.read("small", as: Float.self).values == [1, 2, 3])
        do {
            _ = try f.read("data", as: Float.self)
            Issue.record("a 2^40-element dataset was read")
        } catch {
            #expect(error.description.contains("claims shape") && error.description.contains(path), "\(error)")
        }
    }
}
