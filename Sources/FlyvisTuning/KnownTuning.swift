/// What is known about the cell types' tuning from experiments: the ground truth flyvis 1.2.0
/// compares its models with (`flyvis.utils.groundtruth_utils`, whose module docstring says the
/// tables summarise published literature; they are the measured tuning Lappalainen et al.,
/// Nature 2024, compare their predictions with).
package enum KnownTuning {
    /// `groundtruth_utils.polarity`, in its order: 1 ON, −1 OFF, 0 unknown. flyvis cites
    /// Drews et al. 2020 and Matulis et al. 2020 for L5 and no source for the other entries.
    /// Note that the photoreceptors R1–R8 count as ON and enter the FRI correlation.
    package static let polarity: [(cellType: String, polarity: Int)] = [
        ("R1", 1), ("R2", 1), ("R3", 1), ("R4", 1), ("R5", 1), ("R6", 1), ("R7", 1), ("R8", 1),
        ("L1", -1), ("L2", -1), ("L3", -1), ("L4", -1), ("L5", 1),
        ("Lawf1", 0), ("Lawf2", 0), ("Am", 0), ("C2", 0), ("C3", 1), ("CT1(Lo1)", -1), ("CT1(M10)", 1),
        ("Mi1", 1), ("Mi2", 0), ("Mi3", 0), ("Mi4", 1), ("Mi9", -1), ("Mi10", 0), ("Mi11", 0),
        ("Mi12", 0), ("Mi13", 0), ("Mi14", 0), ("Mi15", 0),
        ("T1", 0), ("T2", 0), ("T2a", 0), ("T3", 0),
        ("T4a", 1), ("T4b", 1), ("T4c", 1), ("T4d", 1), ("T5a", -1), ("T5b", -1), ("T5c", -1), ("T5d", -1),
        ("Tm1", -1), ("Tm2", -1), ("Tm3", 1), ("Tm4", -1), ("Tm5Y", 0), ("Tm5a", 0), ("Tm5b", 0),
        ("Tm5c", 0), ("Tm9", -1), ("Tm16", 0), ("Tm20", 0), ("Tm28", 0), ("Tm30", 0),
        ("TmY3", 0), ("TmY4", 0), ("TmY5a", 0), ("TmY9", 0), ("TmY10", 0), ("TmY13", 0),
        ("TmY14", 0), ("TmY15", 0), ("TmY18", 0),
    ]

    /// The entries of `polarity` that are known (nonzero), in its order: the 32 types
    /// `fri_correlation_to_known` correlates with (flyvis's `known_preferred_contrasts`).
    package static var knownPolarity: [(cellType: String, polarity: Int)] { polarity.filter { $0.polarity != 0 } }

    /// `groundtruth_utils.motion_tuning`: the direction-selective T5 and T4 subtypes
    /// (Maisak et al., Nature 2013, whose tuning curves the same flyvis module carries).
    package static let motionTuning = ["T5a", "T5b", "T5c", "T5d", "T4a", "T4b", "T4c", "T4d"]

    /// `groundtruth_utils.no_motion_tuning`: inputs to T4 and T5 known not to be
    /// direction-selective (flyvis gives no citation here).
    package static let noMotionTuning = ["Tm1", "Tm2", "Tm4", "Tm9", "CT1(Lo1)", "Mi1", "Tm3", "Mi4", "Mi9", "CT1(M10)"]

    /// `groundtruth_utils.known_dsi_types`: the 18 types `dsi_correlation_to_known` uses, with
    /// known DSI 1 for `motionTuning` and 0 for `noMotionTuning`.
    package static var knownDSITypes: [String] { noMotionTuning + motionTuning }

    /// `groundtruth_utils.preferred_directions`, degrees: the preferred directions of the T4 and
    /// T5 subtypes (Maisak et al. 2013). `angular_distance_to_known` hard-codes the same values
    /// in radians and compares T4 at intensity 1 (ON edges), T5 at intensity 0 (OFF edges).
    package static let preferredDirections: [(cellType: String, degrees: Double)] = [
        ("T4a", 180), ("T4b", 0), ("T4c", 90), ("T4d", 270),
        ("T5a", 180), ("T5b", 0), ("T5c", 90), ("T5d", 270),
    ]
}
