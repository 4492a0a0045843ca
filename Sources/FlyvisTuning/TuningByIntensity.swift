/// A per-cell, per-intensity index (DSI or preferred direction): `values` laid out
/// (cell, intensity), cells in `cellTypes` order, intensities ascending (the order of flyvis's
/// unstacked sample index).
package struct TuningByIntensity: Sendable, Equatable {
    package var cellTypes: [String]
    package var intensity: [Double]
    package var values: [Double]

    package init(cellTypes: [String], intensity: [Double], values: [Double]) {
        self.cellTypes = cellTypes
        self.intensity = intensity
        self.values = values
    }

    package subscript(cell: Int, intensityIndex: Int) -> Double {
        values[cell * intensity.count + intensityIndex]
    }

    /// The values of one intensity, one per cell.
    package func column(_ intensityIndex: Int) -> [Double] {
        cellTypes.indices.map { self[$0, intensityIndex] }
    }
}
