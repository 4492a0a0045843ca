import FlyvisHex
import Foundation

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
                let su = intValue(s[0]), let sv = intValue(s[1]), su > 0, sv > 0
            else {
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
    private static func edgeSpec(
        _ e: [String: Any], record: String, index: [String: Int],
        path: String
    ) throws(ConnectomeError) -> EdgeSpec {
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
                let du = intValue(uv[0]), let dv = intValue(uv[1]), let n = doubleValue(pair[1]), n >= 0
            else {
                throw .malformed(path: path, record: "\(label) offsets[\(k)]", problem: "expected [[du, dv], n_syn]")
            }
            offsets.append(((du, dv), Float(n)))
        }
        let certainty = doubleValue(e["lambda_mult"] as Any) ?? 0
        return EdgeSpec(source: si, target: ti, offsets: offsets, sign: Float(alpha), certainty: Float(certainty))
    }
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

private func intValue(_ x: Any) -> Int? {
    guard let d = doubleValue(x), d == d.rounded(), abs(d) < 1e9 else { return nil }
    return Int(d)
}

private func doubleValue(_ x: Any) -> Double? {
    // JSON numbers arrive as NSNumber; booleans are NSNumbers too, so reject those by type code.
    guard let n = x as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
    return n.doubleValue
}
