import CFlyvisShim
import CHDF5
import FlyvisMPI

#if canImport(Glibc)
import Glibc
#endif

/// Element types stored natively.
package protocol HDF5Element: Sendable {
    static var nativeType: hid_t { get }
    static var isInteger: Bool { get }
    static var typeName: String { get }
    static var zero: Self { get }
}

extension Float: HDF5Element {
    package static var nativeType: hid_t { fv_h5t_native_float() }
    package static var isInteger: Bool { false }
    package static var typeName: String { "float32" }
    package static var zero: Float { 0 }
}

extension Double: HDF5Element {
    package static var nativeType: hid_t { fv_h5t_native_double() }
    package static var isInteger: Bool { false }
    package static var typeName: String { "float64" }
    package static var zero: Double { 0 }
}

extension Int32: HDF5Element {
    package static var nativeType: hid_t { fv_h5t_native_int32() }
    package static var isInteger: Bool { true }
    package static var typeName: String { "int32" }
    package static var zero: Int32 { 0 }
}

extension Int64: HDF5Element {
    package static var nativeType: hid_t { fv_h5t_native_int64() }
    package static var isInteger: Bool { true }
    package static var typeName: String { "int64" }
    package static var zero: Int64 { 0 }
}

extension UInt8: HDF5Element {
    package static var nativeType: hid_t { fv_h5t_native_uint8() }
    package static var isInteger: Bool { true }
    package static var typeName: String { "uint8" }
    package static var zero: UInt8 { 0 }
}
