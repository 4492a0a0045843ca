import FlyvisHex
import Foundation

/// The connectome built from flyvis's average-filter JSON (ConnectomeFromAvgFilters): cell
/// types, hex-lattice nodes per type, and edges from each spec's offsets after the convex-hull
/// fill, in flyvis's exact orders.
package struct Connectome: Sendable {
    package let extent: Int
    package let lattice: HexLattice
    /// Cell types in JSON order (the canonical type index).
    package let cellTypes: [String]
    package let inputCellTypes: [String]
    package let outputCellTypes: [String]
    package let intermediateCellTypes: [String]
    /// Per type: stride pattern and node positions (in lattice order).
    package let typeStride: [(u: Int, v: Int)]
    package let typeNodeStart: [Int]
    package let typeNodeCount: [Int]
    /// Per node, in node order.
    package let nodeType: [Int32]
    package let nodeU: [Int32]
    package let nodeV: [Int32]
    /// Edge types (source type, target type) in first-appearance order (604 at extent 15).
    package let edgeTypes: [(source: Int, target: Int)]
    /// Per edge type: the sign and synapse-count certainty of its spec (all its edges share them).
    package let edgeTypeSign: [Float]
    package let edgeTypeCertainty: [Float]
    /// syn_count groups in first-appearance order (2,355 at extent 15).
    package let groups: [SynapseGroup]
    /// Node index of the (0, 0) node of every type.
    package let centralCellsIndex: [Int]
    /// Edges (synapses between nodes), 1.5 million at extent 15. They are not stored: the
    /// groups determine them, and nine per-edge arrays were 54 MB of every rank's memory that
    /// only a reference test reads (`edges()` lists them).
    package let edgeCount: Int
    /// Per type, the node at each lattice position ((u + extent) · side + v + extent), or −1.
    private let nodeAt: [[Int32]]

    package var nodeCount: Int { nodeType.count }

    /// Every edge in flyvis's order, one array per attribute.
    package struct EdgeList: Sendable {
        package var source: [Int32] = [], target: [Int32] = [], du: [Int32] = [], dv: [Int32] = []
        package var sign: [Float] = [], nSyn: [Float] = []
        package var nSynCertainty: [Float] = []
        /// Index of each edge's (source type, target type) edge type, and of its syn_count group.
        package var typeIndex: [Int32] = [], groupIndex: [Int32] = []
    }

    /// Lists the edges, group by group (the groups are in flyvis's edge order: spec by spec,
    /// offset by offset, each source node by source node).
    package func edges() -> EdgeList {
        var list = EdgeList()
        for (g, group) in groups.enumerated() {
            Self.forEachEdge(
                du: group.du, dv: group.dv, nodeU: nodeU, nodeV: nodeV, sources: layerIndex(group.sourceType),
                targets: nodeAt[group.targetType], extent: extent
            ) { s, t in
                list.source.append(Int32(s)); list.target.append(t)
                list.du.append(Int32(group.du)); list.dv.append(Int32(group.dv))
                list.sign.append(edgeTypeSign[group.edgeType]); list.nSyn.append(group.nSyn)
                list.nSynCertainty.append(edgeTypeCertainty[group.edgeType])
                list.typeIndex.append(Int32(group.edgeType)); list.groupIndex.append(Int32(g))
            }
        }
        return list
    }

    /// Calls `body(source node, target node)` for the edges of one offset, source node by source
    /// node: an edge exists where the target type has a node at source + offset.
    /// `sources`: the source type's nodes; `targets`: the target type's node per lattice position.
    private static func forEachEdge(
        du: Int, dv: Int, nodeU: [Int32], nodeV: [Int32], sources: Range<Int>, targets: [Int32],
        extent: Int, _ body: (Int, Int32) -> Void
    ) {
        let side = 2 * extent + 1
        for s in sources {
            let tu = Int(nodeU[s]) + du, tv = Int(nodeV[s]) + dv
            guard abs(tu) <= extent, abs(tv) <= extent, abs(tu + tv) <= extent else { continue }
            let t = targets[(tu + extent) * side + (tv + extent)]
            if t >= 0 { body(s, t) }
        }
    }

    package func typeIndex(_ name: String) -> Int? { cellTypes.firstIndex(of: name) }

    /// Node indices of a type, in node order (flyvis's `layer_index`).
    package func layerIndex(_ type: Int) -> Range<Int> { typeNodeStart[type]..<(typeNodeStart[type] + typeNodeCount[type]) }

    /// The bundled connectome file that flyvis ships.
    package static var bundledFile: URL {
        Bundle.module.url(forResource: "fib25-fib19_v2.2", withExtension: "json")!
    }

    /// Builds the connectome. `nSynFill` is flyvis's `n_syn_fill` (synapse count given to the
    /// offsets added inside each spec's convex hull; 0 disables the fill).
    package init(file: URL = Connectome.bundledFile, extent: Int = 15, nSynFill: Float = 1) throws(ConnectomeError) {
        guard HexLattice.networkExtents.contains(extent) else { throw .invalidExtent(extent) }
        let spec = try ConnectomeSpec(file: file)
        self.extent = extent
        lattice = HexLattice(extent: extent)
        cellTypes = spec.types.map(\.name)
        inputCellTypes = spec.inputs
        outputCellTypes = spec.outputs
        intermediateCellTypes = orderNodeTypes(cellTypes.filter { !spec.inputs.contains($0) && !spec.outputs.contains($0) })
        typeStride = spec.types.map { ($0.strideU, $0.strideV) }

        // Nodes: type by type, the lattice positions divisible by the type's stride.
        var nodeType: [Int32] = [], nodeU: [Int32] = [], nodeV: [Int32] = []
        var starts: [Int] = [], counts: [Int] = []
        let side = 2 * extent + 1
        var lookup = [[Int32]](repeating: [Int32](repeating: -1, count: side * side), count: spec.types.count)
        for (t, type) in spec.types.enumerated() {
            starts.append(nodeType.count)
            let typeExtent = type.single ? 0 : extent
            for h in 0..<lattice.count {
                let u = lattice.u[h], v = lattice.v[h]
                guard abs(u) <= typeExtent, abs(v) <= typeExtent, abs(u + v) <= typeExtent,
                    u % type.strideU == 0, v % type.strideV == 0
                else { continue }
                lookup[t][(u + extent) * side + (v + extent)] = Int32(nodeType.count)
                nodeType.append(Int32(t)); nodeU.append(Int32(u)); nodeV.append(Int32(v))
            }
            counts.append(nodeType.count - starts[t])
        }
        self.nodeType = nodeType
        self.nodeU = nodeU
        self.nodeV = nodeV
        typeNodeStart = starts
        typeNodeCount = counts
        centralCellsIndex = (0..<spec.types.count).compactMap { t in
            let i = lookup[t][extent * side + extent]
            return i >= 0 ? Int(i) : nil
        }

        // Edges: spec by spec, offset by offset (JSON order, then the hull fill), source node
        // by source node; only their groups and count are kept (see `edges()`).
        var edgeTypes: [(Int, Int)] = [], typeSign: [Float] = [], typeCertainty: [Float] = []
        var groups: [SynapseGroup] = []
        var total = 0
        for e in spec.edges {
            var offsets = e.offsets
            if nSynFill > 0 && offsets.count >= 3 {
                offsets += fillHull(offsets.map(\.offset)).map { (offset: $0, nSyn: nSynFill) }
            }
            var typeIndex = -1
            for (offset, n) in offsets {
                let (du, dv) = offset
                var produced = 0
                Self.forEachEdge(
                    du: du, dv: dv, nodeU: nodeU, nodeV: nodeV,
                    sources: starts[e.source]..<(starts[e.source] + counts[e.source]), targets: lookup[e.target],
                    extent: extent
                ) { _, _ in produced += 1 }
                guard produced > 0 else { continue }
                if typeIndex < 0 {
                    typeIndex = edgeTypes.count
                    edgeTypes.append((e.source, e.target)); typeSign.append(e.sign); typeCertainty.append(e.certainty)
                }
                groups.append(
                    SynapseGroup(
                        sourceType: e.source, targetType: e.target, du: du, dv: dv,
                        nSyn: n, edgeType: typeIndex, edgeCount: produced))
                total += produced
            }
        }
        edgeCount = total
        edgeTypeSign = typeSign
        edgeTypeCertainty = typeCertainty
        nodeAt = lookup
        self.edgeTypes = edgeTypes
        self.groups = groups
    }
}
