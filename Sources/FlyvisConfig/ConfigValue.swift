import Foundation
import Yams

/// A YAML-like configuration value. Maps keep insertion order (flyvis writes `_meta.yaml` in
/// its config order).
package indirect enum ConfigValue: Equatable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([ConfigValue])
    case map(ConfigMap)

    package var description: String {
        switch self {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .double(d): return formatDouble(d)
        case let .string(s): return s
        case let .list(l): return "[" + l.map(\.description).joined(separator: ", ") + "]"
        case let .map(m): return "{" + m.keys.map { "\($0): \(m[$0]!)" }.joined(separator: ", ") + "}"
        }
    }

    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .list: return "a list"
        case .map: return "a mapping"
        }
    }

    package var mapValue: ConfigMap? { if case let .map(m) = self { return m } else { return nil } }
}

func formatDouble(_ d: Double) -> String {
    if d.isNaN { return ".nan" }
    if d.isInfinite { return d > 0 ? ".inf" : "-.inf" }
    if d == d.rounded(), abs(d) < 1e15 { return String(format: "%.1f", d) }
    return "\(d)"
}

extension ConfigValue {
    /// The most values one YAML document may expand to. A config has a few hundred; aliases
    /// repeat their anchor's content, so a "billion laughs" document of a few lines would
    /// otherwise expand to 10⁹ values (minutes and gigabytes) before anything could refuse it.
    static let maxValues = 100_000

    /// Converts a Yams node (tags and aliases already resolved) into a value, counting every
    /// value made against `budget`.
    init(node: Node, file: String, budget: inout Int) throws(ConfigError) {
        budget -= 1
        guard budget >= 0 else {
            throw .yaml(
                file: file,
                problem:
                    "the document expands to more than \(Self.maxValues) values (YAML aliases repeat their anchor's content); a config holds a few hundred"
            )
        }
        switch node {
        case let .scalar(s):
            self = ConfigValue.scalar(s.string, tag: node.tag.description)
        case let .sequence(seq):
            var items: [ConfigValue] = []
            for n in seq { items.append(try ConfigValue(node: n, file: file, budget: &budget)) }
            self = .list(items)
        case let .mapping(map):
            var m = ConfigMap()
            for (k, v) in map {
                guard let key = k.string else { throw .yaml(file: file, problem: "mapping keys must be strings") }
                m[key] = try ConfigValue(node: v, file: file, budget: &budget)
            }
            self = .map(m)
        case .alias:
            throw .yaml(file: file, problem: "YAML aliases are not supported")
        }
    }

    /// `tag` is the resolved YAML tag, e.g. "tag:yaml.org,2002:int".
    static func scalar(_ text: String, tag: String) -> ConfigValue {
        switch tag.split(separator: ":").last ?? "" {
        case "null": return .null
        case "bool": return .bool(["true", "True", "TRUE", "yes", "on"].contains(text))
        case "int": return Int(text.replacingOccurrences(of: "_", with: "")).map(ConfigValue.int) ?? .string(text)
        case "float":
            switch text.lowercased() {
            case ".inf", "+.inf": return .double(.infinity)
            case "-.inf": return .double(-.infinity)
            case ".nan": return .double(.nan)
            default: return Double(text).map(ConfigValue.double) ?? .string(text)
            }
        default: return .string(text)
        }
    }

    /// A parse error in one bounded line: where, what, and at most 60 characters around the
    /// spot (Yams' own message quotes the whole offending line, which can be megabytes).
    static func describe(_ error: Error, in yaml: String) -> String {
        func excerpt(_ mark: Mark) -> String {
            guard mark.line >= 1,
                let line = yaml.split(separator: "\n", omittingEmptySubsequences: false)
                    .dropFirst(mark.line - 1).first
            else { return "" }
            let scalars = Array(line.unicodeScalars)
            let column = min(max(mark.column - 1, 0), scalars.count)
            let from = max(0, column - 30), to = min(scalars.count, column + 30)
            var text = String(String.UnicodeScalarView(scalars[from..<to]))
            if from > 0 { text = "…" + text }
            if to < scalars.count { text += "…" }
            return "; near '\(text)'"
        }
        func bounded(_ text: String) -> String {
            let one = text.replacingOccurrences(of: "\n", with: " ")
            return one.count <= 300 ? one : String(one.prefix(300)) + "…"
        }
        guard let e = error as? YamlError else { return bounded("\(error)") }
        switch e {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let while_ = context.map { " (\(bounded($0.text)))" } ?? ""
            return "line \(mark.line), column \(mark.column): \(bounded(problem))\(while_)" + excerpt(mark)
        case let .reader(problem, offset, _, _):
            return "\(bounded(problem))" + (offset.map { " at byte \($0)" } ?? "")
        default:
            return bounded("\(e)")
        }
    }

    /// Parses a YAML document into a map.
    package static func parse(yaml: String, file: String) throws(ConfigError) -> ConfigMap {
        let node: Node?
        do { node = try Yams.compose(yaml: yaml) } catch { throw .yaml(file: file, problem: describe(error, in: yaml)) }
        guard let node else { return ConfigMap() }
        var budget = maxValues
        guard case let .map(m) = try ConfigValue(node: node, file: file, budget: &budget) else {
            throw .yaml(file: file, problem: "the top level must be a mapping")
        }
        return m
    }
}
