// MARK: - Writing

// MARK: - Reading

/// A pickle machine for the opcodes and globals of torch checkpoints. Storages are fetched
/// through `storage`, which reads `data/<key>` from the archive.
package struct PickleReader {
    /// What the machine's stack holds: finished values, and the intermediate objects (classes,
    /// storages, dtypes) that REDUCE, BUILD and BINPERSID turn into values.
    indirect enum Item {
        case value(PickleValue)
        case global(module: String, name: String)
        case storage(StorageReference, [UInt8])
        case dtype(String, littleEndian: Bool)
        /// A tuple holding something that is not a value yet (a storage, a dtype): arguments.
        case arguments([Item])
        case mark
    }

    /// How deeply values may nest. torch checkpoints nest a few levels (checkpoint → optim →
    /// state → entry → tensor); a hostile file could nest tens of thousands, and values that
    /// deep overflow the thread's stack when they are compared or freed (both recurse), so
    /// deeper nesting is refused while it is built.
    package static let maxDepth = 64

    let data: [UInt8]
    let storage: (StorageReference) throws -> [UInt8]
    var pos = 0
    /// The machine's stack, with each item's nesting depth beside it (0 for a scalar).
    var stack: [Item] = []
    var depths: [Int] = []
    var memo: [Int: (item: Item, depth: Int)] = [:]

    package init(_ data: [UInt8], storage: @escaping (StorageReference) throws -> [UInt8]) {
        self.data = data
        self.storage = storage
    }

    /// Runs the machine to STOP and returns the top value.
    package mutating func load() throws -> PickleValue {
        while true {
            let at = pos
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()  // PROTO
            case 0x95: _ = try take(8)  // FRAME (protocol 4): the frame length is only a hint
            case 0x2e:  // STOP
                guard case let .value(v)? = stack.last else { throw PickleError.malformed("STOP without a value", offset: at) }
                return v
            case 0x28: place(.mark, depth: 0)
            case 0x29: push(.tuple([]))
            case 0x5d: push(.list([]))
            case 0x7d: push(.dict([], ordered: false))
            case 0x4e: push(.none)
            case 0x88: push(.bool(true))
            case 0x89: push(.bool(false))
            case 0x4b: push(.int(Int64(try byte())))
            case 0x4d: push(.int(Int64(try uint(2))))
            case 0x4a: push(.int(Int64(Int32(bitPattern: UInt32(try uint(4))))))
            case 0x8a: push(.int(try long(Int(try byte()), at: at)))
            case 0x8b: push(.int(try long(try length(4), at: at)))
            case 0x47:  // BINFLOAT
                let b = try take(8)
                push(.float(Double(bitPattern: b.reduce(0) { $0 << 8 | UInt64($1) })))
            case 0x58: push(.string(try text(try length(4), at: at)))  // BINUNICODE
            case 0x8c: push(.string(try text(Int(try byte()), at: at)))  // SHORT_BINUNICODE
            case 0x8d: push(.string(try text(try length(8), at: at)))  // BINUNICODE8
            case 0x54: push(.string(latin1(try take(try length(4)))))  // BINSTRING
            case 0x55: push(.string(latin1(try take(Int(try byte())))))  // SHORT_BINSTRING
            case 0x42: push(.bytes(try take(try length(4))))  // BINBYTES
            case 0x43: push(.bytes(try take(Int(try byte()))))  // SHORT_BINBYTES
            case 0x8e: push(.bytes(try take(try length(8))))  // BINBYTES8
            case 0x71: memo[Int(try byte())] = try topSlot(at)  // BINPUT
            case 0x72: memo[try length(4)] = try topSlot(at)  // LONG_BINPUT
            case 0x94: memo[memo.count] = try topSlot(at)  // MEMOIZE
            case 0x68, 0x6a:  // BINGET, LONG_BINGET
                let id = op == 0x68 ? Int(try byte()) : try length(4)
                guard let entry = memo[id] else { throw PickleError.malformed("memo entry \(id) is not set", offset: at) }
                place(entry.item, depth: entry.depth)
            case 0x63:  // GLOBAL
                let module = try line(at), name = try line(at)
                place(.global(module: module, name: name), depth: 0)
            case 0x93:  // STACK_GLOBAL
                let name = try popValue(at).string, module = try popValue(at).string
                guard let module, let name else { throw PickleError.malformed("STACK_GLOBAL needs two strings", offset: at) }
                place(.global(module: module, name: name), depth: 0)
            case 0x74:  // TUPLE
                let (items, d) = try popMark(at)
                try place(try tuple(items, at), depth: d + 1, at)
            case 0x85, 0x86, 0x87:  // TUPLE1..3
                let n = Int(op - 0x84)
                guard stack.count >= n else { throw PickleError.malformed("tuple of \(n) on a short stack", offset: at) }
                let items = Array(stack.suffix(n)), d = depths.suffix(n).max() ?? 0
                stack.removeLast(n)
                depths.removeLast(n)
                try place(try tuple(items, at), depth: d + 1, at)
            case 0x6c:  // LIST
                let (items, d) = try popMark(at)
                try place(.value(.list(try items.map { try value($0, at) })), depth: d + 1, at)
            case 0x64:  // DICT
                let (items, d) = try popMark(at)
                try place(.value(.dict(try pairs(items, at), ordered: false)), depth: d + 1, at)
            case 0x61:  // APPEND
                let (v, d) = try popValueSlot(at)
                try modifyList(at, adding: d) { $0.append(v) }
            case 0x65:  // APPENDS
                let (marked, d) = try popMark(at)
                let items = try marked.map { try value($0, at) }
                try modifyList(at, adding: d) { $0 += items }
            case 0x73:  // SETITEM
                let (v, dv) = try popValueSlot(at), (k, dk) = try popValueSlot(at)
                try modifyDict(at, adding: max(dv, dk)) { $0.append(PickleEntry(k, v)) }
            case 0x75:  // SETITEMS
                let (marked, d) = try popMark(at)
                let items = try pairs(marked, at)
                try modifyDict(at, adding: d) { $0 += items }
            case 0x51:  // BINPERSID
                let (pid, d) = try popValueSlot(at)
                try place(try persistent(pid, at), depth: d + 1, at)
            case 0x52:  // REDUCE
                let args: [Item]
                let (last, d) = try popSlot(at)
                switch last {
                case let .value(.tuple(values)): args = values.map { .value($0) }
                case let .arguments(items): args = items
                default: throw PickleError.malformed("REDUCE needs an argument tuple", offset: at)
                }
                let (callable, _) = try popSlot(at)
                try place(try reduce(callable, args, at), depth: d + 1, at)
            case 0x62:  // BUILD
                let (state, ds) = try popValueSlot(at)
                let (target, dt) = try popSlot(at)
                try place(try build(target, state, at), depth: max(dt, ds + 1), at)
            case 0x30: _ = try pop(at)  // POP
            case 0x31: _ = try popMark(at)  // POP_MARK
            case 0x32:  // DUP
                let top = try topSlot(at)
                place(top.item, depth: top.depth)
            default: throw PickleError.unsupportedOpcode(op, offset: at)
            }
        }
    }

    // MARK: Globals

    /// The callables torch and numpy put into checkpoints.
    func reduce(_ callable: Item, _ args: [Item], _ at: Int) throws -> Item {
        guard case let .global(module, name) = callable else {
            throw PickleError.malformed("REDUCE on something that is not a class or function", offset: at)
        }
        switch (module, name) {
        case ("collections", "OrderedDict"):
            return .value(.dict([], ordered: true))
        case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"):
            return .value(.tensor(try rebuildTensor(args, at)))
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
            guard case var .value(.tensor(t))? = args.first else {
                throw PickleError.malformed("_rebuild_parameter without a tensor", offset: at)
            }
            if args.count > 1, case let .value(.bool(g)) = args[1] { t.requiresGrad = g }
            return .value(.tensor(t))
        case ("_codecs", "encode"):
            guard case let .value(.string(s))? = args.first else { throw PickleError.malformed("_codecs.encode without text", offset: at) }
            return .value(.bytes(s.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }))
        case ("numpy", "dtype"):
            guard case let .value(.string(code))? = args.first else {
                throw PickleError.malformed("numpy.dtype without a type code", offset: at)
            }
            return .dtype(code, littleEndian: true)
        case ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"):
            return .value(try numpyScalar(args, at))
        default:
            throw PickleError.unsupportedGlobal(module: module, name: name)
        }
    }

    /// BUILD: numpy dtypes get their byte order; an OrderedDict's state (`_metadata`, which
    /// only carries module versions for `load_state_dict`) is dropped.
    func build(_ target: Item, _ state: PickleValue, _ at: Int) throws -> Item {
        switch target {
        case let .dtype(code, _):
            // state = (version, byteorder, ...): '<' or '|' little/irrelevant, '>' big.
            if case let .tuple(fields) = state, fields.count > 1, case let .string(order) = fields[1] {
                return .dtype(code, littleEndian: order != ">")
            }
            return target
        case .value(.dict):
            return target
        default:
            throw PickleError.malformed("BUILD on an object torch checkpoints do not build", offset: at)
        }
    }

    func persistent(_ pid: PickleValue, _ at: Int) throws -> Item {
        guard case let .tuple(fields) = pid, fields.count == 5, fields[0] == .string("storage"),
            case let .string(key) = fields[2], let count = fields[4].int
        else {
            throw PickleError.malformed("persistent id is not ('storage', type, key, location, numel)", offset: at)
        }
        // The storage type arrived as a global: rebuild the dtype from its class name.
        guard case let .string(typeName) = fields[1], let dtype = TorchDType(rawValue: typeName) else {
            throw PickleError.malformed("unknown storage type \(fields[1].kind)", offset: at)
        }
        let (needed, overflow) = Int(clamping: count).multipliedReportingOverflow(by: dtype.byteSize)
        guard count >= 0, !overflow else { throw PickleError.malformed("storage \(key) claims \(count) elements", offset: at) }
        let ref = StorageReference(key: key, dtype: dtype, count: Int(count))
        let bytes = try storage(ref)
        guard bytes.count >= needed else {
            throw PickleError.malformed("storage \(key) holds \(bytes.count) bytes, expected \(needed)", offset: at)
        }
        return .storage(ref, bytes)
    }

    func rebuildTensor(_ args: [Item], _ at: Int) throws -> TorchTensor {
        guard args.count >= 4, case let .storage(ref, storageBytes) = args[0],
            case let .value(offsetValue) = args[1], let offset = offsetValue.int,
            case let .value(.tuple(sizeValues)) = args[2], case let .value(.tuple(strideValues)) = args[3]
        else {
            throw PickleError.malformed("_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, ...)", offset: at)
        }
        let shape = try sizeValues.map { v -> Int in
            guard let i = v.int, i >= 0 else { throw PickleError.malformed("bad tensor size", offset: at) }
            return Int(i)
        }
        let strides = try strideValues.map { v -> Int in
            guard let i = v.int else { throw PickleError.malformed("bad tensor stride", offset: at) }
            return Int(i)
        }
        guard strides.count == shape.count else { throw PickleError.malformed("tensor size and stride differ in rank", offset: at) }
        var requiresGrad = false
        if args.count > 4, case let .value(.bool(g)) = args[4] { requiresGrad = g }
        // Sizes come from the file: multiply without overflow, and never allocate more than the
        // storage holds (state-dict tensors are never broadcast views).
        let size = ref.dtype.byteSize
        var count = 1
        for d in shape {
            let (c, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, c <= storageBytes.count / max(size, 1) else {
                throw PickleError.malformed(
                    "tensor of shape \(shape) does not fit its storage \(ref.key) (\(storageBytes.count) bytes)", offset: at)
            }
            count = c
        }
        let limit = storageBytes.count
        guard strides.allSatisfy({ (-limit...limit).contains($0) }), (0...Int64(limit)).contains(offset) else {
            throw PickleError.malformed("tensor strides or offset reach outside storage \(ref.key)", offset: at)
        }
        var out = [UInt8](repeating: 0, count: count * size)
        // Gather in row-major order (handles views and non-contiguous strides).
        var index = [Int](repeating: 0, count: shape.count)
        for n in 0..<count {
            var element = Int(offset)
            for d in 0..<shape.count {
                let (step, o1) = index[d].multipliedReportingOverflow(by: strides[d])
                let (sum, o2) = element.addingReportingOverflow(step)
                guard !o1, !o2 else { throw PickleError.malformed("tensor reaches outside storage \(ref.key)", offset: at) }
                element = sum
            }
            guard element >= 0, (element + 1) * size <= storageBytes.count else {
                throw PickleError.malformed("tensor reaches outside storage \(ref.key)", offset: at)
            }
            for b in 0..<size { out[n * size + b] = storageBytes[element * size + b] }
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return TorchTensor(dtype: ref.dtype, shape: shape, bytes: out, requiresGrad: requiresGrad)
    }

    /// numpy.core.multiarray.scalar(dtype, bytes): a numpy number, read as an int or a float.
    func numpyScalar(_ args: [Item], _ at: Int) throws -> PickleValue {
        guard args.count == 2, case let .dtype(code, little) = args[0], case let .value(.bytes(raw)) = args[1] else {
            throw PickleError.malformed("numpy scalar is not (dtype, bytes)", offset: at)
        }
        let b = little ? raw : raw.reversed()
        func uint(_ n: Int) -> UInt64 { (0..<n).reversed().reduce(0) { $0 << 8 | UInt64(b[$1]) } }
        switch (code, b.count) {
        case ("f8", 8): return .float(Double(bitPattern: uint(8)))
        case ("f4", 4): return .float(Double(Float(bitPattern: UInt32(uint(4)))))
        case ("i8", 8): return .int(Int64(bitPattern: uint(8)))
        case ("i4", 4): return .int(Int64(Int32(bitPattern: UInt32(uint(4)))))
        case ("u8", 8): return .int(Int64(bitPattern: uint(8)))
        case ("u4", 4): return .int(Int64(uint(4)))
        case ("b1", 1): return .bool(b[0] != 0)
        default: throw PickleError.malformed("numpy scalar of type '\(code)' (\(b.count) bytes) is not supported", offset: at)
        }
    }

    // MARK: Stack helpers

    /// Pushes a scalar value.
    mutating func push(_ v: PickleValue) { place(.value(v), depth: 0) }

    /// Pushes an item of a depth that cannot exceed its parts' (a scalar, a memo copy).
    mutating func place(_ item: Item, depth: Int) {
        stack.append(item)
        depths.append(depth)
    }

    /// Pushes a container built of parts, refusing nesting deeper than `maxDepth`.
    mutating func place(_ item: Item, depth: Int, _ at: Int) throws {
        guard depth <= Self.maxDepth else {
            throw PickleError.malformed("values nest deeper than \(Self.maxDepth) levels (torch checkpoints nest a few)", offset: at)
        }
        place(item, depth: depth)
    }

    func topSlot(_ at: Int) throws -> (item: Item, depth: Int) {
        guard let t = stack.last, let d = depths.last else { throw PickleError.malformed("empty stack", offset: at) }
        return (t, d)
    }

    mutating func popSlot(_ at: Int) throws -> (item: Item, depth: Int) {
        guard let t = stack.popLast(), let d = depths.popLast() else { throw PickleError.malformed("empty stack", offset: at) }
        return (t, d)
    }

    mutating func pop(_ at: Int) throws -> Item { try popSlot(at).item }

    mutating func popValue(_ at: Int) throws -> PickleValue { try value(try pop(at), at) }

    mutating func popValueSlot(_ at: Int) throws -> (value: PickleValue, depth: Int) {
        let (item, d) = try popSlot(at)
        return (try value(item, at), d)
    }

    /// A stack item as a value; storage types (the `torch.FloatStorage` global in a persistent
    /// id) become their class name so the persistent id can be checked as a tuple.
    func value(_ item: Item, _ at: Int) throws -> PickleValue {
        switch item {
        case let .value(v): return v
        case let .global(module, name) where module == "torch" && TorchDType(rawValue: name) != nil: return .string(name)
        case let .global(module, name): throw PickleError.unsupportedGlobal(module: module, name: name)
        case .storage: throw PickleError.malformed("a storage outside a tensor", offset: at)
        case .dtype: throw PickleError.malformed("a numpy dtype outside a numpy scalar", offset: at)
        case .arguments: throw PickleError.malformed("a tensor's arguments outside a tensor", offset: at)
        case .mark: throw PickleError.malformed("unexpected MARK", offset: at)
        }
    }

    /// A tuple of values, or an argument tuple when it holds storages or dtypes.
    func tuple(_ items: [Item], _ at: Int) throws -> Item {
        let plain = items.allSatisfy { item in
            switch item {
            case .storage, .dtype, .arguments: return false
            default: return true
            }
        }
        return plain ? .value(.tuple(try items.map { try value($0, at) })) : .arguments(items)
    }

    /// The items above the topmost MARK, removed with it, and their greatest depth.
    mutating func popMark(_ at: Int) throws -> (items: [Item], depth: Int) {
        guard let m = stack.lastIndex(where: { if case .mark = $0 { return true } else { return false } }) else {
            throw PickleError.malformed("no MARK on the stack", offset: at)
        }
        let items = Array(stack[(m + 1)...])
        let depth = depths[(m + 1)...].max() ?? 0
        stack.removeSubrange(m...)
        depths.removeSubrange(m...)
        return (items, depth)
    }

    func pairs(_ items: [Item], _ at: Int) throws -> [PickleEntry] {
        guard items.count % 2 == 0 else { throw PickleError.malformed("odd number of dict items", offset: at) }
        return try stride(from: 0, to: items.count, by: 2).map { PickleEntry(try value(items[$0], at), try value(items[$0 + 1], at)) }
    }

    /// Changes the list on top of the stack; its parts gain items of depth `adding`.
    mutating func modifyList(_ at: Int, adding depth: Int, _ f: (inout [PickleValue]) -> Void) throws {
        let (top, d) = try popSlot(at)
        guard case var .value(.list(l)) = top else {
            throw PickleError.malformed("APPEND to something that is not a list", offset: at)
        }
        f(&l)
        try place(.value(.list(l)), depth: max(d, depth + 1), at)
    }

    mutating func modifyDict(_ at: Int, adding depth: Int, _ f: (inout [PickleEntry]) -> Void) throws {
        let (top, d) = try popSlot(at)
        guard case .value(.dict(var e, let ordered)) = top else {
            throw PickleError.malformed("SETITEM on something that is not a dict", offset: at)
        }
        f(&e)
        try place(.value(.dict(e, ordered: ordered)), depth: max(d, depth + 1), at)
    }

    // MARK: Byte helpers

    mutating func byte() throws -> UInt8 {
        guard pos < data.count else { throw PickleError.truncated(offset: pos) }
        defer { pos += 1 }
        return data[pos]
    }

    mutating func take(_ n: Int) throws -> [UInt8] {
        guard n >= 0, n <= data.count - pos else { throw PickleError.truncated(offset: pos) }
        defer { pos += n }
        return Array(data[pos..<pos + n])
    }

    /// A length or index field of `n` bytes, refused when it cannot be one (a hostile file
    /// could claim 2^63 bytes).
    mutating func length(_ n: Int) throws -> Int {
        let at = pos
        let v = try uint(n)
        guard v <= UInt64(Int32.max) * 16 else { throw PickleError.malformed("length \(v) is larger than any checkpoint", offset: at) }
        return Int(v)
    }

    mutating func uint(_ n: Int) throws -> UInt64 {
        try take(n).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func long(_ n: Int, at: Int) throws -> Int64 {
        let b = try take(n)
        guard n <= 8 else { throw PickleError.malformed("integer of \(n) bytes does not fit 64 bits", offset: at) }
        if n == 0 { return 0 }
        var v = b.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        if n < 8, b[n - 1] & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(n)) }  // sign-extend
        return Int64(bitPattern: v)
    }

    mutating func text(_ n: Int, at: Int) throws -> String {
        let b = try take(n)
        guard let s = String(validating: b, as: UTF8.self) else { throw PickleError.malformed("string is not UTF-8", offset: at) }
        return s
    }

    func latin1(_ b: [UInt8]) -> String { String(String.UnicodeScalarView(b.map { Unicode.Scalar($0) })) }

    mutating func line(_ at: Int) throws -> String {
        guard let end = data[pos...].firstIndex(of: 0x0a) else { throw PickleError.truncated(offset: pos) }
        let s = latin1(Array(data[pos..<end]))
        pos = end + 1
        return s
    }
}
