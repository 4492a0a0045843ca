import FlyvisHDF5
import FlyvisReport
import FlyvisResults
import Foundation

/// A running job's view, passed by the coordinator.
package struct LiveJob: Sendable {
    package var members: [Int: LiveMember]
    package var started: Date
    /// The job is ending (last update): the page stops reloading.
    package var final: Bool
    package var refreshSeconds: Int

    package init(members: [Int: LiveMember], started: Date, final: Bool = false, refreshSeconds: Int = 60) {
        self.members = members
        self.started = started
        self.final = final
        self.refreshSeconds = refreshSeconds
    }
}
