import Foundation

/// An ordered name → array map: a torch `state_dict()` (the order is torch's, which flyvis and
/// `load_state_dict` do not depend on but which keeps our files like flyvis's).
package struct StateDict: Sendable, Equatable {
    package private(set) var names: [String] = []
    private var arrays: [String: CheckpointArray] = [:]

    package init() {}

    package subscript(name: String) -> CheckpointArray? {
        get { arrays[name] }
        set {
            if newValue != nil, arrays[name] == nil { names.append(name) }
            if newValue == nil { names.removeAll { $0 == name } }
            arrays[name] = newValue
        }
    }

    package var isEmpty: Bool { names.isEmpty }
}
