import Foundation

/// The tuning readout as the report shows it, in plain values: per member the flash response
/// index (FRI, radius 6) of every cell type with the known polarities beside it (the paper's FRI
/// strip), the direction selectivity of T4a–d to ON edges and T5a–d to OFF edges, and the two
/// correlations to the known tuning.
package struct TuningReport: Sendable, Equatable {
    package struct Member: Sendable, Equatable {
        package var member: Int
        /// The member's directory name ("003"), as the loader spells it.
        package var name: String
        package var checkpoint: Int
        /// FRI at radius 6 per cell type (`TuningReport.cellTypes` order); empty without flashes.
        package var fri: [Double]
        /// DSI per `TuningReport.dsiColumns` entry; empty without moving edges.
        package var dsi: [Double]
        package var friCorrelation: Double?
        package var dsiCorrelation: Double?

        package init(
            member: Int, name: String, checkpoint: Int, fri: [Double], dsi: [Double], friCorrelation: Double?,
            dsiCorrelation: Double?
        ) {
            self.member = member
            self.name = name
            self.checkpoint = checkpoint
            self.fri = fri
            self.dsi = dsi
            self.friCorrelation = friCorrelation
            self.dsiCorrelation = dsiCorrelation
        }
    }

    /// One column of the DSI plot: a cell type at one edge intensity ("T4a", "ON").
    package struct DSIColumn: Sendable, Equatable {
        package var cellType: String
        package var edge: String

        package init(cellType: String, edge: String) {
            self.cellType = cellType
            self.edge = edge
        }
    }

    package var cellTypes: [String]
    /// Known polarity per cell type: +1 ON, −1 OFF, nil unknown (flyvis's ground truth).
    package var knownPolarity: [Int?]
    package var dsiColumns: [DSIColumn]
    package var members: [Member]
    /// Where the numbers come from, for the caption (e.g. ".../responses/tuning.h5").
    package var source: String

    package init(cellTypes: [String], knownPolarity: [Int?], dsiColumns: [DSIColumn], members: [Member], source: String) {
        self.cellTypes = cellTypes
        self.knownPolarity = knownPolarity
        self.dsiColumns = dsiColumns
        self.members = members
        self.source = source
    }

    package func member(_ m: Int) -> Member? { members.first { $0.member == m } }
}
