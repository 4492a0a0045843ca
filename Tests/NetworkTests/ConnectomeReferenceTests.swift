import FlyvisHDF5
import FlyvisNetwork
import FlyvisTestSupport
import Foundation
import Testing

@testable import FlyvisConnectome

/// The connectome must equal flyvis 1.2.0's: counts, node table and edge multiset.
@Suite struct ConnectomeReferenceTests {
    static let connectome = Result { try Connectome() }

    @Test func typesNodesAndCentralCells() throws {
        let c = try Self.connectome.get()
        let ref = try Reference.open()
        #expect(c.nodeCount == Int(try ref.attribute("n_nodes", on: "connectome", as: Int64.self)))
        #expect(c.edgeCount == Int(try ref.attribute("n_edges", on: "connectome", as: Int64.self)))
        #expect(c.cellTypes == (try ref.readStrings("connectome/unique_cell_types")))
        #expect(c.inputCellTypes == (try ref.readStrings("connectome/input_cell_types")))
        #expect(c.outputCellTypes == (try ref.readStrings("connectome/output_cell_types")))
        #expect(c.centralCellsIndex.map(Int64.init) == (try ref.read("connectome/central_cells_index", as: Int64.self).values))
        let types = try ref.readStrings("connectome/nodes_type")
        #expect(c.nodeType.map { c.cellTypes[Int($0)] } == types)
        #expect(c.nodeU == (try ref.read("connectome/nodes_u", as: Int32.self).values))
        #expect(c.nodeV == (try ref.read("connectome/nodes_v", as: Int32.self).values))
    }

    @Test func edgeMultisetIsIdentical() throws {
        let c = try Self.connectome.get()
        let ref = try Reference.open()
        let s: [Int32] = try ref.read("connectome/edges_source_index").values
        let t: [Int32] = try ref.read("connectome/edges_target_index").values
        let du: [Int32] = try ref.read("connectome/edges_du").values
        let dv: [Int32] = try ref.read("connectome/edges_dv").values
        let sign: [Float] = try ref.read("connectome/edges_sign").values
        let n: [Float] = try ref.read("connectome/edges_n_syn").values
        #expect(s.count == c.edgeCount)
        func keys(_ s: [Int32], _ t: [Int32], _ du: [Int32], _ dv: [Int32], _ sign: [Float], _ n: [Float]) -> [String] {
            (0..<s.count).map { "\(s[$0]) \(t[$0]) \(du[$0]) \(dv[$0]) \(sign[$0]) \(n[$0].bitPattern)" }.sorted()
        }
        let e = c.edges()
        #expect(e.source.count == c.edgeCount && e.nSyn.count == c.edgeCount && !s.isEmpty)
        let ours = keys(e.source, e.target, e.du, e.dv, e.sign, e.nSyn)
        let theirs = keys(s, t, du, dv, sign, n)
        #expect(ours == theirs)
        // The edge order is flyvis's too (not required, but it makes comparisons easy).
        #expect(e.source == s && e.target == t)
        // Each edge's groups agree with the groups' own fields.
        #expect(
            e.groupIndex.indices.allSatisfy { i in
                let g = c.groups[Int(e.groupIndex[i])]
                return g.edgeType == Int(e.typeIndex[i]) && g.du == Int(e.du[i]) && g.dv == Int(e.dv[i])
            })
    }

    @Test func groupCounts() throws {
        let c = try Self.connectome.get()
        let ref = try Reference.open()
        #expect(c.edgeTypes.count == (try ref.shape("param_keys/edges_type_source"))[0])
        #expect(c.groups.count == (try ref.shape("param_keys/syn_count_du"))[0])
        #expect(c.groups.map(\.edgeCount).reduce(0, +) == c.edgeCount)
    }

    /// The engine's stencils apply each group at every target cell whose shifted source cell
    /// exists. That equals the connectome only if every group is complete in that sense.
    @Test func everyGroupCoversAllExistingPairs() throws {
        let c = try Self.connectome.get()
        let layout = NetworkLayout(connectome: c)
        let incomplete = c.groups.indices.filter { layout.edgeCount(group: $0) != c.groups[$0].edgeCount }
        #expect(incomplete.isEmpty, "groups whose edges are not all existing (target, target − (du, dv)) pairs: \(incomplete.prefix(5))")
    }
}
