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
