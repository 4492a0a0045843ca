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
    /// Converts a Yams node (tags already resolved) into a value.
    init(node: Node, file: String) throws(ConfigError) {
        switch node {
        case let .scalar(s):
            self = ConfigValue.scalar(s.string, tag: node.tag.description)
        case let .sequence(seq):
            var items: [ConfigValue] = []
            for n in seq { items.append(try ConfigValue(node: n, file: file)) }
            self = .list(items)
        case let .mapping(map):
            var m = ConfigMap()
            for (k, v) in map {
                guard let key = k.string else { throw .yaml(file: file, problem: "mapping keys must be strings") }
                m[key] = try ConfigValue(node: v, file: file)
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

    /// Parses a YAML document into a map.
    package static func parse(yaml: String, file: String) throws(ConfigError) -> ConfigMap {
        let node: Node?
        do { node = try Yams.compose(yaml: yaml) } catch { throw .yaml(file: file, problem: "\(error)") }
        guard let node else { return ConfigMap() }
        guard case let .map(m) = try ConfigValue(node: node, file: file) else {
            throw .yaml(file: file, problem: "the top level must be a mapping")
        }
        return m
    }
}
