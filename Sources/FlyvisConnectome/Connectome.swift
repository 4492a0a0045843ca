import FlyvisHex
import Foundation

/// Problems with a connectome file, each naming the record and what to fix.
package enum ConnectomeError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, record: String, problem: String)
    case invalidExtent(Int)

    package var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read connectome file '\(path)': \(reason)"
        case let .malformed(path, record, problem):
            return "malformed connectome file '\(path)', \(record): \(problem); fix the record or use the bundled fib25-fib19_v2.2.json"
        case let .invalidExtent(e):
            return "connectome extent must be between \(Connectome.extentRange.lowerBound) and \(Connectome.extentRange.upperBound) (got \(e)); flyvis uses 15"
        }
    }
}

/// One (source type, target type, du, dv) group: every synapse in it shares one weight, so the
/// recurrent current is a shifted copy of the source type's hex map scaled by that weight.
package struct SynapseGroup: Sendable, Equatable {
    package let sourceType: Int
    package let targetType: Int
    package let du: Int
    package let dv: Int
    /// Synapse count of the offset (flyvis's n_syn).
    package let nSyn: Float
    /// Index of the (source, target) edge type: keys `edges_sign` and `edges_syn_strength`.
    package let edgeType: Int
    /// Number of edges (synapses between nodes) that survive the lattice boundary.
    package let edgeCount: Int
}

/// The connectome built from flyvis's average-filter JSON (ConnectomeFromAvgFilters): cell
/// types, hex-lattice nodes per type, and edges from each spec's offsets after the convex-hull
/// fill, in flyvis's exact orders.
package struct Connectome: Sendable {
    /// The lattice extents this connectome supports (one ring at least; 64 rings is far beyond
    /// flyvis's 15). Config validation uses the same range.
    package static let extentRange = 1...64

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
            Self.forEachEdge(du: group.du, dv: group.dv, nodeU: nodeU, nodeV: nodeV, sources: layerIndex(group.sourceType),
                             targets: nodeAt[group.targetType], extent: extent) { s, t in
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
    private static func forEachEdge(du: Int, dv: Int, nodeU: [Int32], nodeV: [Int32], sources: Range<Int>, targets: [Int32],
                                    extent: Int, _ body: (Int, Int32) -> Void) {
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
        guard Self.extentRange.contains(extent) else { throw .invalidExtent(extent) }
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
                      u % type.strideU == 0, v % type.strideV == 0 else { continue }
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
                Self.forEachEdge(du: du, dv: dv, nodeU: nodeU, nodeV: nodeV,
                                 sources: starts[e.source]..<(starts[e.source] + counts[e.source]), targets: lookup[e.target],
                                 extent: extent) { _, _ in produced += 1 }
                guard produced > 0 else { continue }
                if typeIndex < 0 {
                    typeIndex = edgeTypes.count
                    edgeTypes.append((e.source, e.target)); typeSign.append(e.sign); typeCertainty.append(e.certainty)
                }
                groups.append(SynapseGroup(sourceType: e.source, targetType: e.target, du: du, dv: dv,
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

/// The parsed JSON, validated record by record.
struct ConnectomeSpec {
    struct NodeType { var name: String; var strideU: Int; var strideV: Int; var single: Bool }
    struct EdgeSpec {
        var source: Int, target: Int
        var offsets: [(offset: (Int, Int), nSyn: Float)]
        var sign: Float
        var certainty: Float
    }

    var types: [NodeType] = []
    var edges: [EdgeSpec] = []
    var inputs: [String] = []
    var outputs: [String] = []

    init(file: URL) throws(ConnectomeError) {
        let path = file.path
        let root = try Self.readJSON(file)
        guard let nodes = root["nodes"] as? [[String: Any]], !nodes.isEmpty else {
            throw .malformed(path: path, record: "top level", problem: "missing or empty 'nodes' list")
        }
        guard let edgeRecords = root["edges"] as? [[String: Any]] else {
            throw .malformed(path: path, record: "top level", problem: "missing 'edges' list")
        }
        var index: [String: Int] = [:]
        for (i, n) in nodes.enumerated() {
            let t = try Self.nodeType(n, record: "nodes[\(i)]", path: path)
            guard index[t.name] == nil else {
                throw .malformed(path: path, record: "nodes[\(i)] (\(t.name))", problem: "duplicate cell type name")
            }
            index[t.name] = i
            types.append(t)
        }
        for (i, e) in edgeRecords.enumerated() {
            edges.append(try Self.edgeSpec(e, record: "edges[\(i)]", index: index, path: path))
        }
        inputs = (root["input_units"] as? [String]) ?? []
        outputs = (root["output_units"] as? [String]) ?? []
        for name in inputs + outputs where index[name] == nil {
            throw .malformed(path: path, record: "input_units/output_units", problem: "unknown cell type '\(name)'")
        }
    }

    /// The file's top-level JSON object.
    private static func readJSON(_ file: URL) throws(ConnectomeError) -> [String: Any] {
        let path = file.path
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw .unreadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "\(error)" : "no such file")
        }
        do {
            guard let r = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ConnectomeError.malformed(path: path, record: "top level", problem: "expected a JSON object")
            }
            return r
        } catch let e as ConnectomeError { throw e } catch {
            throw .malformed(path: path, record: "top level", problem: "not valid JSON (\(error.localizedDescription))")
        }
    }

    /// One `nodes` record: a cell type's name and placement pattern (stride, tile or single).
    private static func nodeType(_ n: [String: Any], record: String, path: String) throws(ConnectomeError) -> NodeType {
        guard let name = n["name"] as? String, !name.isEmpty else {
            throw .malformed(path: path, record: record, problem: "missing 'name'")
        }
        let label = "\(record) (\(name))"
        guard let pattern = n["pattern"] as? [Any], let kind = pattern.first as? String else {
            throw .malformed(path: path, record: label, problem: "missing 'pattern' such as [\"stride\", [1, 1]]")
        }
        var t = NodeType(name: name, strideU: 1, strideV: 1, single: false)
        switch kind {
        case "stride":
            guard pattern.count == 2, let s = pattern[1] as? [Any], s.count == 2,
                  let su = intValue(s[0]), let sv = intValue(s[1]), su > 0, sv > 0 else {
                throw .malformed(path: path, record: label, problem: "stride pattern needs two positive integers")
            }
            t.strideU = su; t.strideV = sv
        case "tile":
            guard pattern.count == 2, let n = intValue(pattern[1]), n > 0 else {
                throw .malformed(path: path, record: label, problem: "tile pattern needs a positive integer")
            }
            t.strideU = n; t.strideV = n
        case "single":
            t.single = true
        default:
            throw .malformed(path: path, record: label, problem: "unknown pattern '\(kind)' (stride, tile or single)")
        }
        return t
    }

    /// One `edges` record: source and target types, sign, certainty and the (du, dv, n_syn)
    /// offsets of the average filter.
    private static func edgeSpec(_ e: [String: Any], record: String, index: [String: Int],
                                 path: String) throws(ConnectomeError) -> EdgeSpec {
        guard let s = e["src"] as? String, let t = e["tar"] as? String else {
            throw .malformed(path: path, record: record, problem: "missing 'src' or 'tar'")
        }
        let label = "\(record) (\(s)→\(t))"
        guard let si = index[s], let ti = index[t] else {
            throw .malformed(path: path, record: label, problem: "unknown cell type '\(index[s] == nil ? s : t)'")
        }
        guard let alpha = doubleValue(e["alpha"] as Any) else {
            throw .malformed(path: path, record: label, problem: "missing numeric 'alpha' (the sign)")
        }
        guard let offs = e["offsets"] as? [Any], !offs.isEmpty else {
            throw .malformed(path: path, record: label, problem: "missing or empty 'offsets'")
        }
        var offsets: [(offset: (Int, Int), nSyn: Float)] = []
        for (k, o) in offs.enumerated() {
            guard let pair = o as? [Any], pair.count == 2, let uv = pair[0] as? [Any], uv.count == 2,
                  let du = intValue(uv[0]), let dv = intValue(uv[1]), let n = doubleValue(pair[1]), n >= 0 else {
                throw .malformed(path: path, record: "\(label) offsets[\(k)]", problem: "expected [[du, dv], n_syn]")
            }
            offsets.append(((du, dv), Float(n)))
        }
        let certainty = doubleValue(e["lambda_mult"] as Any) ?? 0
        return EdgeSpec(source: si, target: ti, offsets: offsets, sign: Float(alpha), certainty: Float(certainty))
    }
}

private func intValue(_ x: Any) -> Int? {
    guard let d = doubleValue(x), d == d.rounded(), abs(d) < 1e9 else { return nil }
    return Int(d)
}

private func doubleValue(_ x: Any) -> Double? {
    // JSON numbers arrive as NSNumber; booleans are NSNumbers too, so reject those by type code.
    guard let n = x as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
    return n.doubleValue
}

/// flyvis's `order_node_type_list`: groups by name pattern (R, L, Lawf, A, C, CT, Mi, T, Tm,
/// other), then by name with the first number zero-padded to 4 digits.
func orderNodeTypes(_ names: [String]) -> [String] {
    let patterns = ["^R\\d", "^L\\d", "^Lawf\\d", "^A", "^C\\d", "^CT\\d.*", "^Mi\\d{1,2}", "^T\\d{1,2}.*", "^Tm.*\\d{1,2}.*"]
    func group(_ s: String) -> Int {
        for (i, p) in patterns.enumerated() where s.range(of: p, options: .regularExpression) != nil { return i }
        return patterns.count
    }
    func key(_ s: String) -> String {
        guard let r = s.range(of: "\\d+", options: .regularExpression) else { return s }
        let digits = s[r]
        return s.replacingCharacters(in: r, with: String(repeating: "0", count: max(0, 4 - digits.count)) + digits)
    }
    return names.enumerated().sorted { a, b in
        let (ga, gb) = (group(a.element), group(b.element))
        if ga != gb { return ga < gb }
        let (ka, kb) = (key(a.element), key(b.element))
        return ka != kb ? ka < kb : a.offset < b.offset
    }.map(\.element)
}

/// The integer offsets strictly needed to fill each spec's convex hull, as flyvis's
/// `fill_hull` finds them: candidates in the bounding box (u-major, v ascending) that are not
/// already offsets and that matplotlib's crossing-number test puts inside the counter-clockwise
/// hull (points on the lowest horizontal edge are outside, other boundary points inside).
func fillHull(_ points: [(Int, Int)]) -> [(Int, Int)] {
    let hull = convexHullCCW(points)
    guard hull.count >= 3 else { return [] }  // collinear: nothing to fill
    let known = Set(points.map { $0.0 * 10_000 + $0.1 })
    let us = points.map(\.0), vs = points.map(\.1)
    var added: [(Int, Int)] = []
    for u in us.min()!...us.max()! {
        for v in vs.min()!...vs.max()! where !known.contains(u * 10_000 + v) {
            if crossingInside(hull, x: u, y: v) { added.append((u, v)) }
        }
    }
    return added
}

/// Andrew's monotone chain; counter-clockwise, without collinear points.
func convexHullCCW(_ points: [(Int, Int)]) -> [(Int, Int)] {
    var pts = points.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
    var unique: [(Int, Int)] = []
    for q in pts where unique.last.map({ $0 != q }) ?? true { unique.append(q) }
    pts = unique
    guard pts.count >= 3 else { return pts }
    func cross(_ o: (Int, Int), _ a: (Int, Int), _ b: (Int, Int)) -> Int {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    }
    var lower: [(Int, Int)] = []
    for q in pts {
        while lower.count >= 2 && cross(lower[lower.count - 2], lower[lower.count - 1], q) <= 0 { lower.removeLast() }
        lower.append(q)
    }
    var upper: [(Int, Int)] = []
    for q in pts.reversed() {
        while upper.count >= 2 && cross(upper[upper.count - 2], upper[upper.count - 1], q) <= 0 { upper.removeLast() }
        upper.append(q)
    }
    let hull = Array(lower.dropLast() + upper.dropLast())
    return hull.count >= 3 ? hull : []
}

/// matplotlib's point-in-path crossing test, with its tie rule, in exact integer arithmetic.
func crossingInside(_ polygon: [(Int, Int)], x tx: Int, y ty: Int) -> Bool {
    var inside = false
    for i in 0..<polygon.count {
        let (x0, y0) = polygon[i]
        let (x1, y1) = polygon[(i + 1) % polygon.count]
        let f0 = y0 >= ty, f1 = y1 >= ty
        if f0 != f1 && (((y1 - ty) * (x0 - x1) >= (x1 - tx) * (y0 - y1)) == f1) {
            inside.toggle()
        }
    }
    return inside
}
