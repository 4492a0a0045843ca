import FlyvisTask
import Foundation

/// What a schedule sets.
package enum ScheduleTarget: String, Sendable, CaseIterable {
    case lr_net, lr_dec, lr_pen, dt, relu_leak, activity_penalty
}
