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
