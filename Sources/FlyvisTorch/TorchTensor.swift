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
        out.withUnsafeMutableBytes { dst in
            bytes.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[0..<dst.count])) }
        }
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
