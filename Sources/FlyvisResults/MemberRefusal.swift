/// An error that refused a run before it touched the member's directory (another run holds it,
/// or the config does not match the stored one). The member's recorded state stays as it was:
/// a finished member refused by a mistyped rerun must not be marked failed.
package protocol MemberRefusal: Error {
    var leavesMemberUntouched: Bool { get }
}

extension MemberLockError: MemberRefusal {
    package var leavesMemberUntouched: Bool {
        if case .held = self { return true }
        return false
    }
}

/// A refused path (outside the root, a symlink out of it, a file where a folder belongs) is
/// never written to, not even the failure's `_status.yaml`.
extension PathError: MemberRefusal {
    package var leavesMemberUntouched: Bool { true }
}
