import Foundation

/// An error of another layer (the HDF5 wrapper) that can say it was caused by a full device
/// (`false`) or quota (`true`), so that `AtomicFile.outOfSpace` recognises it.
package protocol FullDiskReporting: Error {
    var fullDiskQuota: Bool? { get }
}
