import Foundation

/// A resolved training configuration: flyvis's config tree (solver, network, task, optim,
/// penalizer, scheduler) composed from YAML files, with command-line overrides applied and
/// `${...}` interpolations resolved.
package struct Config: Equatable, Sendable {
    package private(set) var root: ConfigMap

    package init(root: ConfigMap) { self.root = root }

    // MARK: Composition

    /// The bundled config tree (package resources).
    package static var bundledDirectory: URL {
        Bundle.module.resourceURL!.appendingPathComponent("config")
    }

    /// Composes `solver.yaml` and its config groups (hydra's defaults lists), searching
    /// `configDirs` before the bundled tree, applies `overrides` in order (last wins), resolves
    /// interpolations and validates. Group choices (`network=myconfig`) select
    /// `<dir>/network/myconfig.yaml`.
    package static func load(overrides: [String] = [], configDirs: [URL] = []) throws(ConfigError) -> Config {
        let dirs = configDirs + [bundledDirectory]
        var parsed: [Override] = []
        for o in overrides { parsed.append(try Override.parse(o)) }
        // Group selections are applied while composing.
        var choices: [String: String] = [:]
        var rest: [Override] = []
        for o in parsed {
            if case let .set(path, .string(option)) = o.action, path.count == 1, isGroup(path[0], dirs: dirs),
                !option.isEmpty
            {
                choices[path[0]] = option
            } else {
                rest.append(o)
            }
        }
        var root = try compose(group: "", option: "solver", dirs: dirs, choices: choices)
        let schema = root
        for o in rest { try o.apply(to: &root, schema: schema) }
        var config = Config(root: root)
        try config.resolveInterpolations()
        try config.validate()
        return config
    }

    /// The config of an existing network directory: the defaults, overlaid by what its
    /// `_meta.yaml` stores (ours or flyvis's), then `overrides`. Resume, `val-single` and
    /// `simulate` use it, so a directory needs none of its training overrides repeated and a
    /// flyvis directory runs with its own settings.
    package static func load(stored: Config, overrides: [String] = [], configDirs: [URL] = []) throws(ConfigError) -> Config {
        let dirs = configDirs + [bundledDirectory]
        var root = try compose(group: "", option: "solver", dirs: dirs, choices: [:])
        let schema = root
        root.merge(stored.root)
        for o in overrides {
            var parsed = try Override.parse(o)
            // `+key=v` adds a key the defaults lack; the stored config may hold it already
            // (it was added when the run started), and repeating the command must work.
            if case let .add(path, v) = parsed.action, Override.read(schema, path) == nil {
                parsed = Override(text: parsed.text, action: .force(path, v))
            }
            try parsed.apply(to: &root, schema: schema)
        }
        var config = Config(root: root)
        try config.resolveInterpolations()
        try config.validate()
        return config
    }

    static func isGroup(_ name: String, dirs: [URL]) -> Bool {
        dirs.contains { d in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: d.appendingPathComponent(name).path, isDirectory: &isDir) && isDir.boolValue
        }
    }

    /// Loads `<group>/<option>.yaml`, then its defaults list (`_self_` first means the file's
    /// own keys come first and groups merge over them).
    static func compose(group: String, option: String, dirs: [URL], choices: [String: String]) throws(ConfigError) -> ConfigMap {
        let rel = group.isEmpty ? "\(option).yaml" : "\(group)/\(option).yaml"
        guard let url = dirs.map({ $0.appendingPathComponent(rel) }).first(where: { FileManager.default.fileExists(atPath: $0.path) })
        else {
            throw .unknownGroupOption(group: group.isEmpty ? "(root)" : group, option: option, searched: dirs.map(\.path))
        }
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw .yaml(file: url.path, problem: "unreadable: \(error.localizedDescription)")
        }
        var own = try ConfigValue.parse(yaml: text, file: url.path)
        let defaults = own["defaults"]
        own["defaults"] = nil
        guard case let .list(entries)? = defaults else { return own }
        var result = ConfigMap()
        var selfMerged = false
        for entry in entries {
            switch entry {
            case .string("_self_"):
                result.merge(own)
                selfMerged = true
            case let .map(m):
                for sub in m.keys {
                    // hydra overrides (override hydra/...) have no meaning here.
                    if sub.hasPrefix("override ") { continue }
                    guard case let .string(defaultOption)? = m[sub] else { continue }
                    let path = group.isEmpty ? sub : "\(group)/\(sub)"
                    let key = path.replacingOccurrences(of: "/", with: ".")
                    let chosen = choices[key] ?? defaultOption
                    let child = try compose(group: path, option: chosen, dirs: dirs, choices: choices)
                    var wrapper = ConfigMap()
                    var existing = result[sub]?.mapValue ?? ConfigMap()
                    existing.merge(child)
                    wrapper[sub] = .map(existing)
                    result.merge(wrapper)
                }
            default:
                continue
            }
        }
        if !selfMerged { result.merge(own) }
        return result
    }

    // MARK: Access

    package func value(_ path: String) -> ConfigValue? {
        var current: ConfigValue = .map(root)
        for part in path.split(separator: ".") {
            guard case let .map(m) = current, let next = m[String(part)] else { return nil }
            current = next
        }
        return current
    }

    package func contains(_ path: String) -> Bool { value(path) != nil }

    func require(_ path: String) throws(ConfigError) -> ConfigValue {
        guard let v = value(path) else { throw .unknownKey(key: path, hint: "it is missing from the configuration") }
        if case .string("???") = v { throw .missingValue(key: path) }
        return v
    }

    package func double(_ path: String) throws(ConfigError) -> Double {
        switch try require(path) {
        case let .double(d): return d
        case let .int(i): return Double(i)
        case let v: throw .wrongType(key: path, expected: "a number", found: "\(v) (\(v.typeName))")
        }
    }

    package func optionalDouble(_ path: String) throws(ConfigError) -> Double? {
        if case .null? = value(path) { return nil }
        if value(path) == nil { return nil }
        return try double(path)
    }

    /// An integer; a whole number written as a float (`1e5`) counts, one beyond Int's range
    /// (`1e19`, `inf`) is out of range, never a trap.
    package func int(_ path: String) throws(ConfigError) -> Int {
        switch try require(path) {
        case let .int(i): return i
        case let .double(d) where d.isNaN || d != d.rounded():
            throw .wrongType(key: path, expected: "an integer", found: "\(formatDouble(d)) (a number)")
        case let .double(d):
            guard let i = Int(exactly: d) else {
                throw .outOfRange(key: path, value: formatDouble(d), allowed: "an integer between \(Int.min) and \(Int.max)")
            }
            return i
        case let v: throw .wrongType(key: path, expected: "an integer", found: "\(v) (\(v.typeName))")
        }
    }

    package func optionalInt(_ path: String) throws(ConfigError) -> Int? {
        if value(path) == nil { return nil }
        if case .null? = value(path) { return nil }
        return try int(path)
    }

    package func bool(_ path: String) throws(ConfigError) -> Bool {
        switch try require(path) {
        case let .bool(b): return b
        case let v: throw .wrongType(key: path, expected: "true or false", found: "\(v) (\(v.typeName))")
        }
    }

    package func string(_ path: String) throws(ConfigError) -> String {
        switch try require(path) {
        case let .string(s): return s
        case let .int(i): return String(i)
        case let v: throw .wrongType(key: path, expected: "a string", found: "\(v) (\(v.typeName))")
        }
    }

    package func optionalString(_ path: String) throws(ConfigError) -> String? {
        if value(path) == nil { return nil }
        if case .null? = value(path) { return nil }
        return try string(path)
    }

    package func list(_ path: String) throws(ConfigError) -> [ConfigValue] {
        switch try require(path) {
        case let .list(l): return l
        case let v: throw .wrongType(key: path, expected: "a list", found: "\(v) (\(v.typeName))")
        }
    }

    package func map(_ path: String) throws(ConfigError) -> ConfigMap {
        switch try require(path) {
        case let .map(m): return m
        case let v: throw .wrongType(key: path, expected: "a mapping", found: "\(v) (\(v.typeName))")
        }
    }

    /// Removes a top-level key.
    package mutating func remove(_ key: String) { root[key] = nil }

    /// Sets a value programmatically (e.g. the ensemble's per-member seed), adding keys as needed.
    package mutating func set(_ path: String, _ value: ConfigValue) {
        Override.write(&root, path.split(separator: ".").map(String.init), value)
    }

    // MARK: Interpolation

    /// Replaces `${a.b}` references (whole values keep the referenced type; embedded ones are
    /// formatted into the string), recursively, detecting cycles.
    mutating func resolveInterpolations() throws(ConfigError) {
        var resolving = Set<String>()
        func resolve(_ v: ConfigValue, at key: String) throws(ConfigError) -> ConfigValue {
            switch v {
            case let .string(s) where s.contains("${"):
                return try interpolate(s, at: key)
            case let .list(l):
                var out: [ConfigValue] = []
                for (i, x) in l.enumerated() { out.append(try resolve(x, at: "\(key)[\(i)]")) }
                return .list(out)
            case let .map(m):
                var out = m
                for k in m.keys { out[k] = try resolve(m[k]!, at: key.isEmpty ? k : "\(key).\(k)") }
                return .map(out)
            default:
                return v
            }
        }
        func lookup(_ ref: String, from key: String) throws(ConfigError) -> ConfigValue {
            guard !resolving.contains(ref) else {
                throw .interpolation(key: key, problem: "cycle through '\(ref)'")
            }
            guard let target = value(ref) else {
                throw .interpolation(key: key, problem: "'\(ref)' does not exist")
            }
            resolving.insert(ref)
            defer { resolving.remove(ref) }
            return try resolve(target, at: ref)
        }
        func interpolate(_ s: String, at key: String) throws(ConfigError) -> ConfigValue {
            // A whole-value reference keeps the referenced value's type.
            if s.hasPrefix("${"), s.hasSuffix("}"), s.filter({ $0 == "$" }).count == 1 {
                return try lookup(String(s.dropFirst(2).dropLast()), from: key)
            }
            var out = ""
            var rest = Substring(s)
            while let start = rest.range(of: "${") {
                out += rest[..<start.lowerBound]
                guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                    throw .interpolation(key: key, problem: "unterminated ${ in '\(s)'")
                }
                let ref = String(rest[start.upperBound..<end])
                let v = try lookup(ref, from: key)
                // A string built from a missing (???) value is missing too, so that using it
                // fails with "required" instead of making a directory named "???/...".
                if case .string("???") = v { return .string("???") }
                if case let .string(text) = v { out += text } else { out += v.description }
                rest = rest[rest.index(after: end)...]
            }
            out += rest
            return .string(out)
        }
        guard case let .map(m) = try resolve(.map(root), at: "") else { return }
        root = m
    }
}
