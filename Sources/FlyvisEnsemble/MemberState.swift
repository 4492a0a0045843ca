import FlyvisRandom
import FlyvisSolver
import Foundation

/// A member's state, in one vocabulary for progress reports, `_status.yaml`, the status table,
/// the summary and the job's exit status.
package enum MemberState: String, Codable, Sendable, CaseIterable {
    /// Not started by this job yet.
    case pending
    case running, finished, failed, interrupted
    /// Results but no recorded state (e.g. a directory trained by flyvis).
    case unknown
    /// No results at all.
    case missing

    /// The code in `ensemble_summary.h5`'s `status` dataset (its `status_codes` attribute).
    package var summaryCode: Int32 {
        switch self {
        case .missing: return 0
        case .pending, .running, .unknown: return 1
        case .finished: return 2
        case .failed: return 3
        case .interrupted: return 4
        }
    }

    package static let summaryCodeLegend = "0 missing, 1 pending/running/unknown, 2 finished, 3 failed, 4 interrupted"

    /// For the job's exit status, the worst over all members: interrupted (rerun to resume)
    /// over failed over everything else.
    package var severity: Int32 {
        switch self {
        case .interrupted: return 2
        case .failed: return 1
        default: return 0
        }
    }
}
