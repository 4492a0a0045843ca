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
