import Foundation
import Yams

/// An insertion-ordered string-keyed map.
package struct ConfigMap: Equatable, Sendable {
    package private(set) var keys: [String] = []
    private var storage: [String: ConfigValue] = [:]

    package init() {}

    package subscript(key: String) -> ConfigValue? {
        get { storage[key] }
        set {
            if let v = newValue {
                if storage[key] == nil { keys.append(key) }
                storage[key] = v
            } else if storage[key] != nil {
                storage[key] = nil
                keys.removeAll { $0 == key }
            }
        }
    }

    package var isEmpty: Bool { keys.isEmpty }

    /// Deep merge: values of `other` win; maps merge recursively; new keys append.
    package mutating func merge(_ other: ConfigMap) {
        for k in other.keys {
            if case let .map(a)? = self[k], case let .map(b)? = other[k] {
                var m = a
                m.merge(b)
                self[k] = .map(m)
            } else {
                self[k] = other[k]
            }
        }
    }
}
