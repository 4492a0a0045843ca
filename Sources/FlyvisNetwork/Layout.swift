import FlyvisConnectome

/// The memory layout of the fast kernel. Every cell type gets its own square hex map padded by
/// the largest synapse offset, with the batch innermost: cell (type, u, v) holds B contiguous
/// values. A (source, target, du, dv) group then reads the source map shifted by (du, dv), a
/// constant flat offset, with no index gathers, and positions outside the hexagon (or missing,
/// for strided types such as Lawf) read zeros. The engine's stencils (Stencil.swift) build on it.
package struct NetworkLayout: Sendable {
    package let types: Int
    package let extent: Int
    package let pad: Int
    /// Side of a padded map: 2·extent + 1 + 2·pad.
    package let side: Int
    /// Cells per type map (side²).
    package let cellsPerType: Int
    /// Cell (no batch) of every node, in node order.
    package let nodeCell: [Int32]
    /// Runs of consecutive node cells, per type: (first cell, length). Elementwise updates
    /// touch only these.
    package let activeRuns: [(start: Int32, length: Int32)]
    /// Type of each active run.
    package let activeRunType: [Int32]
    /// First node of each active run. Node cells increase with the node index (types in
    /// order, each in lattice order), so the runs in order are the nodes in order, and the
    /// engine keeps its state history in node order without the padding.
    package let activeRunNode: [Int32]
    /// Per group: the row runs (target cell, source cell, length) where both cells exist. Their
    /// total must equal the group's edge count for the stencils to be exact (`Network` checks).
    package let segments: [(target: Int32, source: Int32, length: Int32)]
    /// Start of each group's segments in `segments` (count groups + 1).
    package let groupSegmentStart: [Int32]
    /// Groups ordered by target type, so one target map stays hot in cache.
    package let groupOrder: [Int32]
    /// Groups ordered by source type (the backward writes into source maps), then target type
    /// and edge type, so that each edge type's groups are contiguous.
    package let groupOrderBySource: [Int32]

    package var totalCells: Int { types * cellsPerType }

    package init(connectome c: Connectome) {
        types = c.cellTypes.count
        extent = c.extent
        pad = max(1, c.groups.map { max(abs($0.du), abs($0.dv)) }.max() ?? 1)
        side = 2 * extent + 1 + 2 * pad
        cellsPerType = side * side
        let side = self.side, pad = self.pad, extent = self.extent, cellsPerType = self.cellsPerType
        func cell(_ t: Int, _ u: Int, _ v: Int) -> Int { t * cellsPerType + (u + extent + pad) * side + (v + extent + pad) }

        var exists = [Bool](repeating: false, count: types * cellsPerType)
        var nodeCell = [Int32](repeating: 0, count: c.nodeCount)
        for n in 0..<c.nodeCount {
            let k = cell(Int(c.nodeType[n]), Int(c.nodeU[n]), Int(c.nodeV[n]))
            nodeCell[n] = Int32(k)
            exists[k] = true
        }
        precondition(zip(nodeCell, nodeCell.dropFirst()).allSatisfy { $0 < $1 }, "node cells must increase with the node index")
        self.nodeCell = nodeCell

        var runs: [(Int32, Int32)] = [], runType: [Int32] = []
        for t in 0..<types {
            var k = t * cellsPerType
            let end = k + cellsPerType
            while k < end {
                if exists[k] {
                    var j = k
                    while j < end && exists[j] { j += 1 }
                    runs.append((Int32(k), Int32(j - k)))
                    runType.append(Int32(t))
                    k = j
                } else {
                    k += 1
                }
            }
        }
        activeRuns = runs
        activeRunType = runType
        var firstNode: [Int32] = [], nodes: Int32 = 0
        for (_, length) in runs { firstNode.append(nodes); nodes += length }
        activeRunNode = firstNode

        var segments: [(Int32, Int32, Int32)] = []
        var starts: [Int32] = []
        for g in c.groups {
            starts.append(Int32(segments.count))
            for u in -extent...extent {
                let su = u - g.du
                guard abs(su) <= extent else { continue }
                var v = -extent
                while v <= extent {
                    let ok =
                        abs(u + v) <= extent && exists[cell(g.targetType, u, v)]
                        && abs(v - g.dv) <= extent && exists[cell(g.sourceType, su, v - g.dv)]
                    if ok {
                        var len = 0
                        while v + len <= extent && abs(u + v + len) <= extent
                            && exists[cell(g.targetType, u, v + len)]
                            && abs(v + len - g.dv) <= extent && exists[cell(g.sourceType, su, v + len - g.dv)]
                        {
                            len += 1
                        }
                        segments.append((Int32(cell(g.targetType, u, v)), Int32(cell(g.sourceType, su, v - g.dv)), Int32(len)))
                        v += len
                    } else {
                        v += 1
                    }
                }
            }
        }
        starts.append(Int32(segments.count))
        self.segments = segments
        groupSegmentStart = starts
        groupOrder = c.groups.indices.sorted {
            (c.groups[$0].targetType, c.groups[$0].sourceType, $0) < (c.groups[$1].targetType, c.groups[$1].sourceType, $1)
        }.map(Int32.init)
        groupOrderBySource = c.groups.indices.sorted {
            (c.groups[$0].sourceType, c.groups[$0].targetType, c.groups[$0].edgeType, $0)
                < (c.groups[$1].sourceType, c.groups[$1].targetType, c.groups[$1].edgeType, $1)
        }.map(Int32.init)
    }

    /// Edges covered by a group's segments (equals the group's edge count).
    package func edgeCount(group g: Int) -> Int {
        (Int(groupSegmentStart[g])..<Int(groupSegmentStart[g + 1])).reduce(0) { $0 + Int(segments[$1].length) }
    }
}
