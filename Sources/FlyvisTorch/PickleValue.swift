/// The values a `torch.save` checkpoint is made of: Python's None, bools, ints, floats, strings,
/// bytes, lists, tuples, dicts (plain and `collections.OrderedDict`) and tensors. numpy scalars
/// (flyvis stores `lr`, `val_loss` and `dt` as `numpy.float64`) are read as plain numbers.
package indirect enum PickleValue: Equatable, Sendable {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([PickleValue])
    case tuple([PickleValue])
    /// A dict in insertion order; `ordered` marks a `collections.OrderedDict` (torch state dicts).
    case dict([PickleEntry], ordered: Bool)
    case tensor(TorchTensor)

    /// The entry under a string key of a dict.
    package subscript(key: String) -> PickleValue? { self[.string(key)] }

    /// The entry under any key of a dict (optimizer states are keyed by int).
    package subscript(key: PickleValue) -> PickleValue? {
        guard case let .dict(entries, _) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    package var entries: [PickleEntry]? { if case let .dict(e, _) = self { return e } else { return nil } }
    package var items: [PickleValue]? {
        switch self {
        case let .list(v), let .tuple(v): return v
        default: return nil
        }
    }
    package var tensor: TorchTensor? { if case let .tensor(t) = self { return t } else { return nil } }
    package var string: String? { if case let .string(s) = self { return s } else { return nil } }
    package var bool: Bool? { if case let .bool(b) = self { return b } else { return nil } }
    /// An int (a bool counts as 0/1, as in Python).
    package var int: Int64? {
        switch self {
        case let .int(i): return i
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }
    /// A number as a double (ints convert, as Python does in arithmetic).
    package var double: Double? {
        switch self {
        case let .float(d): return d
        case let .int(i): return Double(i)
        default: return nil
        }
    }

    /// A plain dict from string keys, in order.
    package static func dict(_ pairs: KeyValuePairs<String, PickleValue>, ordered: Bool = false) -> PickleValue {
        .dict(pairs.map { PickleEntry(.string($0.key), $0.value) }, ordered: ordered)
    }

    /// A short description of the value's kind, for error messages.
    package var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict(_, let ordered): return ordered ? "OrderedDict" : "dict"
        case let .tensor(t): return "tensor \(t.dtype.name) \(t.shape)"
        }
    }
}

package struct PickleEntry: Equatable, Sendable {
    package var key: PickleValue
    package var value: PickleValue
    package init(_ key: PickleValue, _ value: PickleValue) {
        self.key = key
        self.value = value
    }
}

/// torch's storage element types, by the name of their legacy storage class, which is what
/// `torch.save` records for each tensor (`torch.FloatStorage`, ...).
package enum TorchDType: String, CaseIterable, Sendable {
    case float32 = "FloatStorage"
    case float64 = "DoubleStorage"
    case float16 = "HalfStorage"
    case bfloat16 = "BFloat16Storage"
    case int64 = "LongStorage"
    case int32 = "IntStorage"
    case int16 = "ShortStorage"
    case int8 = "CharStorage"
    case uint8 = "ByteStorage"
    case bool = "BoolStorage"

    package var byteSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    package var name: String {
        switch self {
        case .float32: return "float32"
        case .float64: return "float64"
        case .float16: return "float16"
        case .bfloat16: return "bfloat16"
        case .int64: return "int64"
        case .int32: return "int32"
        case .int16: return "int16"
        case .int8: return "int8"
        case .uint8: return "uint8"
        case .bool: return "bool"
        }
    }
}

/// A dense, row-major tensor with little-endian element bytes, as torch stores it.
package struct TorchTensor: Equatable, Sendable {
    package var dtype: TorchDType
    package var shape: [Int]
    package var bytes: [UInt8]
    /// torch's `requires_grad` flag (state dicts store detached tensors, so normally false).
    package var requiresGrad: Bool

    package var count: Int { shape.reduce(1, *) }

    package init(dtype: TorchDType, shape: [Int], bytes: [UInt8], requiresGrad: Bool = false) {
        precondition(bytes.count == shape.reduce(1, *) * dtype.byteSize, "tensor bytes do not match its shape")
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
        self.requiresGrad = requiresGrad
    }

    package init(_ values: [Float], shape: [Int]? = nil) {
        self.init(dtype: .float32, shape: shape ?? [values.count], bytes: Self.littleEndianBytes(values))
    }

    package init(_ values: [Double], shape: [Int]? = nil) {
        self.init(dtype: .float64, shape: shape ?? [values.count], bytes: Self.littleEndianBytes(values))
    }

    package init(_ values: [Int64], shape: [Int]? = nil) {
        self.init(dtype: .int64, shape: shape ?? [values.count], bytes: Self.littleEndianBytes(values))
    }

    package init(_ values: [UInt8], shape: [Int]? = nil) {
        self.init(dtype: .uint8, shape: shape ?? [values.count], bytes: values)
    }

    /// The elements as Float32, if the tensor holds float32.
    package var floats: [Float]? { dtype == .float32 ? Self.decode(bytes, as: Float.self) : nil }
    package var doubles: [Double]? { dtype == .float64 ? Self.decode(bytes, as: Double.self) : nil }
    package var int64s: [Int64]? { dtype == .int64 ? Self.decode(bytes, as: Int64.self) : nil }
    package var uint8s: [UInt8]? { dtype == .uint8 ? bytes : nil }

    /// Every element converted to Double (for scalars such as Adam's `step`, whatever their dtype).
    package var asDoubles: [Double] {
        switch dtype {
        case .float32: return Self.decode(bytes, as: Float.self).map(Double.init)
        case .float64: return Self.decode(bytes, as: Double.self)
        case .int64: return Self.decode(bytes, as: Int64.self).map(Double.init)
        case .int32: return Self.decode(bytes, as: Int32.self).map(Double.init)
        case .int16: return Self.decode(bytes, as: Int16.self).map(Double.init)
        case .int8: return bytes.map { Double(Int8(bitPattern: $0)) }
        case .uint8, .bool: return bytes.map(Double.init)
        case .float16: return Self.decode(bytes, as: UInt16.self).map { Double(halfToFloat($0)) }
        case .bfloat16: return Self.decode(bytes, as: UInt16.self).map { Double(Float(bitPattern: UInt32($0) << 16)) }
        }
    }

    static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(values.count * MemoryLayout<T>.size)
        for v in values { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        return out
    }

    static func littleEndianBytes(_ values: [Float]) -> [UInt8] { littleEndianBytes(values.map(\.bitPattern)) }
    static func littleEndianBytes(_ values: [Double]) -> [UInt8] { littleEndianBytes(values.map(\.bitPattern)) }

    static func decode<T: FixedWidthInteger>(_ bytes: [UInt8], as: T.Type) -> [T] {
        let n = bytes.count / MemoryLayout<T>.size
        var out = [T](repeating: 0, count: n)
        out.withUnsafeMutableBytes { dst in bytes.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[0..<dst.count])) } }
        return out.map { T(littleEndian: $0) }
    }

    static func decode(_ bytes: [UInt8], as: Float.Type) -> [Float] { decode(bytes, as: UInt32.self).map(Float.init(bitPattern:)) }
    static func decode(_ bytes: [UInt8], as: Double.Type) -> [Double] { decode(bytes, as: UInt64.self).map(Double.init(bitPattern:)) }
}

/// IEEE half precision bits to Float (Float16 is not available on every platform Swift targets).
private func halfToFloat(_ h: UInt16) -> Float {
    let sign: UInt32 = UInt32(h >> 15) << 31
    let exp = Int((h >> 10) & 0x1f), frac = UInt32(h & 0x3ff)
    if exp == 0 {
        let v = Float(frac) * Float(sign != 0 ? -1 : 1) / Float(1 << 24)
        return v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (frac << 13)) }
    return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (frac << 13))
}
