import Foundation

/// One command-line override in flyvis's (hydra's) grammar: `a.b=v` changes an existing key,
/// `+a.b=v` adds a new one, `++a.b=v` sets or adds, `~a.b` deletes.
struct Override {
    enum Action {
        case set([String], ConfigValue)
        case add([String], ConfigValue)
        case force([String], ConfigValue)
        case delete([String])
    }
    let text: String
    let action: Action

    static func parse(_ text: String) throws(ConfigError) -> Override {
        if text.hasPrefix("~") {
            let key = String(text.dropFirst()).split(separator: "=").first.map(String.init) ?? ""
            guard !key.isEmpty else { throw .badOverride(text, why: "expected ~key") }
            return Override(text: text, action: .delete(key.split(separator: ".").map(String.init)))
        }
        guard let eq = text.firstIndex(of: "=") else {
            throw .badOverride(text, why: "expected key=value (or +key=value, ++key=value, ~key)")
        }
        var key = String(text[..<eq])
        let raw = String(text[text.index(after: eq)...])
        let value = try parseValue(raw, override: text)
        var kind = 0
        if key.hasPrefix("++") { kind = 2; key.removeFirst(2) } else if key.hasPrefix("+") { kind = 1; key.removeFirst() }
        let path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !path.isEmpty, path.allSatisfy({ !$0.isEmpty && !$0.contains(" ") }) else {
            throw .badOverride(text, why: "'\(key)' is not a dotted key")
        }
        switch kind {
        case 1: return Override(text: text, action: .add(path, value))
        case 2: return Override(text: text, action: .force(path, value))
        default: return Override(text: text, action: .set(path, value))
        }
    }

    /// Values: null, true/false, integers (no leading zeros, so `0045/000` and `0045` stay
    /// strings, as in hydra), floats, [lists], quoted strings, otherwise strings.
    static func parseValue(_ raw: String, override: String) throws(ConfigError) -> ConfigValue {
        let s = raw.trimmingCharacters(in: .whitespaces)
        if s.isEmpty { return .string("") }
        if (s.hasPrefix("'") && s.hasSuffix("'") || s.hasPrefix("\"") && s.hasSuffix("\"")) && s.count >= 2 {
            return .string(String(s.dropFirst().dropLast()))
        }
        if s.hasPrefix("[") {
            guard s.hasSuffix("]") else { throw .badOverride(override, why: "unterminated list") }
            let inner = s.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
            if inner.isEmpty { return .list([]) }
            var items: [ConfigValue] = []
            var depth = 0, current = ""
            for ch in inner {
                if ch == "[" { depth += 1 } else if ch == "]" { depth -= 1 }
                if ch == "," && depth == 0 {
                    items.append(try parseValue(current, override: override))
                    current = ""
                } else {
                    current.append(ch)
                }
            }
            items.append(try parseValue(current, override: override))
            return .list(items)
        }
        switch s.lowercased() {
        case "null", "~": return .null
        case "true": return .bool(true)
        case "false": return .bool(false)
        case "inf", "+inf": return .double(.infinity)
        case "-inf": return .double(-.infinity)
        case "nan": return .double(.nan)
        default: break
        }
        if s.range(of: #"^[+-]?(0|[1-9][0-9_]*)$"#, options: .regularExpression) != nil,
            let i = Int(s.replacingOccurrences(of: "_", with: ""))
        {
            return .int(i)
        }
        if s.range(of: #"^[+-]?((0|[1-9][0-9_]*)?\.[0-9_]+|(0|[1-9][0-9_]*)\.?)([eE][+-]?[0-9]+)?$"#, options: .regularExpression) != nil,
            s.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let d = Double(s.replacingOccurrences(of: "_", with: ""))
        {
            return .double(d)
        }
        return .string(s)
    }

    func apply(to root: inout ConfigMap, schema: ConfigMap) throws(ConfigError) {
        switch action {
        case let .set(path, value):
            guard Self.read(root, path) != nil else {
                let key = path.joined(separator: ".")
                throw .unknownKey(
                    key: key, hint: "check the spelling (keys: \(Self.siblings(root, path))), or use +\(key)=\(value) to add it")
            }
            if let old = Self.read(schema, path) { try Self.checkType(path.joined(separator: "."), old: old, new: value) }
            Self.write(&root, path, value)
        case let .add(path, value):
            guard Self.read(root, path) == nil else { throw .keyExists(key: path.joined(separator: ".")) }
            Self.write(&root, path, value)
        case let .force(path, value):
            Self.write(&root, path, value)
        case let .delete(path):
            guard Self.read(root, path) != nil else {
                throw .unknownKey(key: path.joined(separator: "."), hint: "nothing to delete")
            }
            Self.remove(&root, path)
        }
    }

    /// A value may change between int and float, or to/from null; otherwise it keeps its kind.
    static func checkType(_ key: String, old: ConfigValue, new: ConfigValue) throws(ConfigError) {
        switch (old, new) {
        case (.null, _), (_, .null): return
        case (.string("???"), _): return
        case (.int, .int), (.double, .double), (.int, .double), (.double, .int): return
        case (.bool, .bool), (.list, .list), (.map, .map): return
        case (.string, .string), (.string, .int), (.string, .double): return
        default: throw .wrongType(key: key, expected: old.typeName, found: "\(new) (\(new.typeName))")
        }
    }

    static func siblings(_ root: ConfigMap, _ path: [String]) -> String {
        var m = root
        for p in path.dropLast() {
            guard case let .map(next)? = m[p] else { return m.keys.joined(separator: ", ") }
            m = next
        }
        return m.keys.joined(separator: ", ")
    }

    static func read(_ root: ConfigMap, _ path: [String]) -> ConfigValue? {
        var current: ConfigValue = .map(root)
        for p in path {
            guard case let .map(m) = current, let next = m[p] else { return nil }
            current = next
        }
        return current
    }

    static func write(_ root: inout ConfigMap, _ path: [String], _ value: ConfigValue) {
        guard let first = path.first else { return }
        if path.count == 1 { root[first] = value; return }
        var child = root[first]?.mapValue ?? ConfigMap()
        write(&child, Array(path.dropFirst()), value)
        root[first] = .map(child)
    }

    static func remove(_ root: inout ConfigMap, _ path: [String]) {
        guard let first = path.first else { return }
        if path.count == 1 { root[first] = nil; return }
        guard var child = root[first]?.mapValue else { return }
        remove(&child, Array(path.dropFirst()))
        root[first] = .map(child)
    }
}
