/// Serialises a `PickleValue` the way `torch.save` does: protocol 2, tensors as
/// `torch._utils._rebuild_tensor_v2` calls on persistent storages (one per tensor, keys
/// "0", "1", ... in the order they are written), state dicts as `collections.OrderedDict`.
/// The output is deterministic: the same value always gives the same bytes.
package struct PickleWriter {
    package private(set) var bytes: [UInt8] = []
    /// The storages in key order, with their raw little-endian bytes.
    package private(set) var storages: [(key: String, bytes: [UInt8])] = []
    private var memo: [String: Int] = [:]

    package init() {}

    package static func encode(_ value: PickleValue) -> PickleWriter {
        var w = PickleWriter()
        w.bytes = [0x80, 2]  // PROTO 2
        w.write(value)
        w.bytes.append(0x2e)  // STOP
        return w
    }

    private mutating func write(_ v: PickleValue) {
        switch v {
        case .none: bytes.append(0x4e)
        case let .bool(b): bytes.append(b ? 0x88 : 0x89)
        case let .int(i): writeInt(i)
        case let .float(d):
            bytes.append(0x47)  // BINFLOAT, big-endian
            withUnsafeBytes(of: d.bitPattern.bigEndian) { bytes.append(contentsOf: $0) }
        case let .string(s): writeString(s)
        case let .bytes(b):
            // Protocol 2 has no bytes opcode; Python 3 writes _codecs.encode(latin-1 text, 'latin1').
            writeGlobal("_codecs", "encode")
            writeString(String(String.UnicodeScalarView(b.map { Unicode.Scalar($0) })))
            writeString("latin1")
            bytes += [0x86, 0x52]  // TUPLE2 REDUCE
        case let .list(items):
            bytes.append(0x5d)  // EMPTY_LIST
            writeBatched(items.map { [$0] }, end: 0x65)  // APPENDS
        case let .tuple(items):
            switch items.count {
            case 0: bytes.append(0x29)
            case 1...3:
                items.forEach { write($0) }
                bytes.append([0x85, 0x86, 0x87][items.count - 1])
            default:
                bytes.append(0x28)  // MARK
                items.forEach { write($0) }
                bytes.append(0x74)  // TUPLE
            }
        case let .dict(entries, ordered):
            if ordered {
                writeGlobal("collections", "OrderedDict")
                bytes += [0x29, 0x52]  // EMPTY_TUPLE REDUCE
            } else {
                bytes.append(0x7d)  // EMPTY_DICT
            }
            writeBatched(entries.map { [$0.key, $0.value] }, end: 0x75)  // SETITEMS
        case let .tensor(t): writeTensor(t)
        }
    }

    /// MARK, items, end opcode, in batches of 1000 as Python's pickler does.
    private mutating func writeBatched(_ groups: [[PickleValue]], end: UInt8) {
        var start = 0
        while start < groups.count {
            let batch = groups[start..<min(start + 1000, groups.count)]
            bytes.append(0x28)
            for g in batch { g.forEach { write($0) } }
            bytes.append(end)
            start += batch.count
        }
    }

    private mutating func writeInt(_ i: Int64) {
        switch i {
        case 0...0xff: bytes += [0x4b, UInt8(i)]
        case 0...0xffff: bytes += [0x4d, UInt8(i & 0xff), UInt8(i >> 8)]
        case Int64(Int32.min)...Int64(Int32.max):
            bytes.append(0x4a)
            withUnsafeBytes(of: Int32(i).littleEndian) { bytes.append(contentsOf: $0) }
        default:
            // LONG1: little-endian two's complement, 8 bytes is always enough for Int64.
            bytes += [0x8a, 8]
            withUnsafeBytes(of: i.littleEndian) { bytes.append(contentsOf: $0) }
        }
    }

    private mutating func writeString(_ s: String) {
        let utf8 = Array(s.utf8)
        bytes.append(0x58)  // BINUNICODE
        withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes += utf8
    }

    /// GLOBAL, memoised (BINPUT once, BINGET afterwards) like Python's pickler.
    private mutating func writeGlobal(_ module: String, _ name: String) {
        let key = "\(module)\n\(name)"
        if let id = memo[key] {
            bytes += id < 256 ? [0x68, UInt8(id)] : [0x6a] + Self.le32(id)
            return
        }
        bytes.append(0x63)
        bytes += Array("\(module)\n\(name)\n".utf8)
        let id = memo.count
        memo[key] = id
        bytes += id < 256 ? [0x71, UInt8(id)] : [0x72] + Self.le32(id)
    }

    private static func le32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(v).littleEndian) { Array($0) } }

    /// `_rebuild_tensor_v2(storage, 0, size, stride, requires_grad, OrderedDict())`, with the
    /// storage as the persistent id ('storage', torch.<Type>Storage, key, 'cpu', numel).
    private mutating func writeTensor(_ t: TorchTensor) {
        let key = String(storages.count)
        storages.append((key, t.bytes))
        writeGlobal("torch._utils", "_rebuild_tensor_v2")
        bytes.append(0x28)  // MARK (arguments)
        bytes.append(0x28)  // MARK (persistent id)
        writeString("storage")
        writeGlobal("torch", t.dtype.rawValue)
        writeString(key)
        writeString("cpu")
        writeInt(Int64(t.count))
        bytes.append(0x74)  // TUPLE
        bytes.append(0x51)  // BINPERSID
        writeInt(0)
        write(.tuple(t.shape.map { .int(Int64($0)) }))
        var strides = [Int](repeating: 1, count: t.shape.count)
        for i in stride(from: t.shape.count - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * t.shape[i + 1] }
        write(.tuple(strides.map { .int(Int64($0)) }))
        write(.bool(t.requiresGrad))
        write(.dict([], ordered: true))
        bytes += [0x74, 0x52]  // TUPLE REDUCE
    }
}
