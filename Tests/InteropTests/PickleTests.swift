import FlyvisTorch
import Foundation
import Testing

/// The pickle machine on hand-assembled byte strings whose meaning follows from Python's
/// pickle specification (PEP 307 opcodes), independent of our writer.
@Suite struct PickleTests {
    func load(_ bytes: [UInt8]) throws -> PickleValue {
        var r = PickleReader(bytes) { _ in [] }
        return try r.load()
    }

    @Test func scalarsAndContainers() throws {
        // PROTO 2, EMPTY_DICT, MARK, 'a' -> BININT1 7, 'b' -> BINFLOAT 0.5, 'c' -> LONG1 -2, SETITEMS, STOP
        var bytes: [UInt8] = [0x80, 2, 0x7d, 0x28]
        bytes += [0x58, 1, 0, 0, 0, 0x61, 0x4b, 7]
        bytes += [0x58, 1, 0, 0, 0, 0x62, 0x47, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0]
        bytes += [0x58, 1, 0, 0, 0, 0x63, 0x8a, 1, 0xfe]
        bytes += [0x75, 0x2e]
        let v = try load(bytes)
        #expect(v["a"] == .int(7))
        #expect(v["b"] == .float(0.5))
        #expect(v["c"] == .int(-2))
    }

    @Test func unknownOpcodeAndGlobalAreRefused() throws {
        #expect(throws: PickleError.unsupportedOpcode(0x49, offset: 2)) { try load([0x80, 2, 0x49, 0x2e]) }
        let global: [UInt8] = [0x80, 2, 0x63] + Array("os\nsystem\n".utf8) + [0x29, 0x52, 0x2e]
        #expect(throws: PickleError.unsupportedGlobal(module: "os", name: "system")) { try load(global) }
        #expect(throws: PickleError.truncated(offset: 3)) { try load([0x80, 2, 0x58]) }
    }

    @Test func writerOutputReadsBack() throws {
        let value = PickleValue.dict([
            "t": .tensor(TorchTensor([1.5, -2, 3] as [Float], shape: [3])),
            "m": .tensor(TorchTensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])),
            "s": .tensor(TorchTensor([Int64(9)], shape: [])),
            "l": .list([.int(0), .int(70000), .int(-5), .int(1 << 40)]),
            "x": .tuple([.float(0.9), .float(0.999)]),
            "n": .none, "b": .bool(true), "str": .string("Wed Dec  2 01:33:16 2026"),
            "o": .dict(["k": .int(1)], ordered: true),
            "bytes": .bytes([0, 200, 255]),
        ])
        let w = PickleWriter.encode(value)
        let storages = Dictionary(uniqueKeysWithValues: w.storages.map { ($0.key, $0.bytes) })
        var r = PickleReader(w.bytes) { storages[$0.key]! }
        #expect(try r.load() == value)
    }
}

/// Sizes in a checkpoint come from the file: absurd ones are errors, never traps or huge
/// allocations (a hostile header claiming 2 billion × 2 billion elements).
@Suite struct HostilePickleTests {
    /// _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', numel), 0, size, stride, False, OrderedDict())
    func tensorPickle(numel: Int64, size: [Int64], stride: [Int64]) -> [UInt8] {
        func int(_ v: Int64) -> [UInt8] { [0x8a, 8] + withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        func str(_ t: String) -> [UInt8] { [0x58] + withUnsafeBytes(of: UInt32(t.utf8.count).littleEndian) { Array($0) } + Array(t.utf8) }
        func tuple(_ v: [Int64]) -> [UInt8] { [0x28] + v.flatMap(int) + [0x74] }
        var b: [UInt8] = [0x80, 2, 0x63] + Array("torch._utils\n_rebuild_tensor_v2\n".utf8) + [0x28, 0x28]
        b += str("storage") + [0x63] + Array("torch\nFloatStorage\n".utf8) + str("0") + str("cpu") + int(numel) + [0x74, 0x51]
        b += int(0) + tuple(size) + tuple(stride) + [0x89, 0x63] + Array("collections\nOrderedDict\n".utf8) + [0x29, 0x52]
        b += [0x74, 0x52, 0x2e]
        return b
    }

    func load(_ bytes: [UInt8], storage: [UInt8]) throws -> PickleValue {
        var r = PickleReader(bytes) { _ in storage }
        return try r.load()
    }

    @Test func hostileSizesAreErrors() throws {
        let storage = [UInt8](repeating: 0, count: 16)  // four floats
        // A sane tensor reads.
        let ok = try load(tensorPickle(numel: 4, size: [2, 2], stride: [2, 1]), storage: storage)
        #expect(ok.tensor?.shape == [2, 2])
        for (numel, size, stride) in [
            (Int64(4), [Int64(2_000_000_000), 2_000_000_000], [Int64(1), 1]),
            (4, [Int64.max, 2], [1, 1]), (Int64.max, [4], [1]), (4, [4], [Int64.min]),
            (4, [2, 2], [Int64(1) << 40, 1]),
        ] {
            #expect(throws: PickleError.self, "numel \(numel) size \(size) stride \(stride)") {
                _ = try load(tensorPickle(numel: numel, size: size, stride: stride), storage: storage)
            }
        }
        // A string claiming 2^63 bytes.
        let huge: [UInt8] = [0x80, 2, 0x8d] + withUnsafeBytes(of: (UInt64(1) << 63).littleEndian) { Array($0) } + [0x2e]
        #expect(throws: PickleError.self) { _ = try load(huge, storage: []) }
    }
}
