/// The part of Python's pickle format that `torch.save` checkpoints use (protocol 2, as torch
/// writes, plus the protocol 3–5 opcodes a newer Python may emit for the same objects).
/// Hand-written because no Swift library reads pickles; it is deliberately not a general
/// unpickler: only the globals torch and numpy put into checkpoints are understood, and
/// anything else is refused with the opcode or class named.
package enum PickleError: Error, Equatable, CustomStringConvertible {
    case truncated(offset: Int)
    case unsupportedOpcode(UInt8, offset: Int)
    case unsupportedGlobal(module: String, name: String)
    case malformed(String, offset: Int)

    package var description: String {
        switch self {
        case let .truncated(offset): return "the pickle ends early (at byte \(offset))"
        case let .unsupportedOpcode(op, offset):
            return "pickle opcode 0x\(String(op, radix: 16)) at byte \(offset) is not one torch checkpoints use"
        case let .unsupportedGlobal(module, name):
            return "the pickle refers to \(module).\(name), which is not part of a torch checkpoint"
        case let .malformed(what, offset): return "malformed pickle at byte \(offset): \(what)"
        }
    }
}
