import FlyvisConnectome
import Foundation

/// The recorded cells: node indices and their type and hex coordinates, the `cell` axis of a
/// responses file.
package struct CellCoordinates: Sendable, Equatable {
    package let nodes: [Int]
    package let types: [String]
    package let u: [Int]
    package let v: [Int]
    /// For every cell type of the connectome, the position of its central cell on this axis
    /// (nil where it was not recorded): the tuning indices use central cells.
    package let centralColumns: [Int?]

    package var count: Int { nodes.count }

    /// `central` (flyvis's default: the central cell of every type, in type order), `all`, or
    /// every cell of the named types.
    package init(_ selection: CellSelection, connectome c: Connectome) throws(ResponsesError) {
        switch selection {
        case .central: nodes = c.centralCellsIndex
        case .all: nodes = Array(0..<c.nodeCount)
        case let .types(names):
            var out: [Int] = []
            for name in names {
                guard let t = c.typeIndex(name) else {
                    throw .invalidParameter(
                        "unknown cell type '\(name)' in --cells; use central, all, or names such as T4a,T5a (\(c.cellTypes.count) types: \(c.cellTypes.prefix(6).joined(separator: ", ")), …)"
                    )
                }
                out += Array(c.layerIndex(t))
            }
            nodes = out
        }
        types = nodes.map { c.cellTypes[Int(c.nodeType[$0])] }
        u = nodes.map { Int(c.nodeU[$0]) }
        v = nodes.map { Int(c.nodeV[$0]) }
        let position = Dictionary(nodes.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        centralColumns = c.centralCellsIndex.map { position[$0] }
    }

    /// The central cell of every type from responses on this axis, (sample, frame, cell) to
    /// (sample, frame, cell type); NaN for a type whose central cell was not recorded.
    package func central(_ values: [Float], samples: Int, frames: Int) -> [Float] {
        let types = centralColumns.count
        var out = [Float](repeating: .nan, count: samples * frames * types)
        for row in 0..<(samples * frames) {
            let src = row * count, dst = row * types
            for (type, column) in centralColumns.enumerated() {
                if let column { out[dst + type] = values[src + column] }
            }
        }
        return out
    }
}
