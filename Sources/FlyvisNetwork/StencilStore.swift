import FlyvisConnectome

/// Owns stable copies of the stencil tables (Swift arrays may move), the spans of the current
/// batch size and the per-thread type ranges.
final class StencilStore {
    let tables: StencilTables
    let layout: NetworkLayout
    private let ints: [UnsafeMutablePointer<Int>]
    private let edgeTypes: UnsafeMutablePointer<Int32>
    let maxEdges: Int
    private(set) var spans = StencilSpans()
    private var spanStart: UnsafeMutablePointer<Int>?, spanCell: UnsafeMutablePointer<Int32>?
    private var spanValues: UnsafeMutablePointer<Int32>?
    /// The terms' offsets in values at this batch: forward (× B), backward with one lane (× B)
    /// and with two (× 2B), so that the kernels' inner loops multiply nothing.
    private var scaled: (forward: UnsafeMutablePointer<Int>, one: UnsafeMutablePointer<Int>, two: UnsafeMutablePointer<Int>)?
    private(set) var batch = 0
    private(set) var forwardParts: [Range<Int>] = []
    private(set) var backwardParts: [Range<Int>] = []

    convenience init(layout: NetworkLayout, groups g: [(sourceType: Int, targetType: Int, du: Int, dv: Int, edgeType: Int)]) {
        self.init(layout: layout, tables: StencilTables(layout: layout, groups: g))
    }

    init(layout: NetworkLayout, tables t: StencilTables) {
        tables = t
        self.layout = layout
        ints = [copy(t.forwardStart), copy(t.forwardOffset), copy(t.edgeStart), copy(t.edgeTermStart), copy(t.backwardOffset)]
        edgeTypes = copy(t.edgeType)
        maxEdges = (0..<(t.edgeStart.count - 1)).map { t.edgeStart[$0 + 1] - t.edgeStart[$0] }.max() ?? 0
        setThreads(1)
    }

    deinit {
        for p in ints { p.deallocate() }
        edgeTypes.deallocate()
        releaseSpans()
    }

    private func releaseSpans() {
        spanStart?.deallocate(); spanCell?.deallocate(); spanValues?.deallocate()
        if let s = scaled { s.forward.deallocate(); s.one.deallocate(); s.two.deallocate() }
        scaled = nil
    }

    /// Builds the spans for a batch size (done when the engine sizes its buffers).
    func prepare(batch b: Int) {
        guard b != batch else { return }
        releaseSpans()
        spans = StencilSpans(tables: tables, layout: layout, batch: b)
        spanStart = copy(spans.start); spanCell = copy(spans.cell); spanValues = copy(spans.values)
        scaled = (
            copy(tables.forwardOffset.map { $0 * b }), copy(tables.backwardOffset.map { $0 * b }),
            copy(tables.backwardOffset.map { $0 * 2 * b })
        )
        batch = b
    }

    func setThreads(_ n: Int) {
        forwardParts = tables.partition(parts: n) { self.tables.forwardStart[$0] }
        backwardParts = tables.partition(parts: n) { self.tables.backwardStart($0) }
    }

    func kernel<S: NetworkScalar>(weights: StencilWeights<S>) -> StencilKernel<S> {
        StencilKernel(
            spanStart: spanStart!, spanCell: spanCell!, spanValues: spanValues!,
            forwardStart: ints[0], forwardOffset: scaled!.forward, edgeStart: ints[2], edgeType: edgeTypes,
            edgeTermStart: ints[3], backwardOffset: scaled!.one, backwardOffsetTwoLanes: scaled!.two, weights: weights,
            batch: batch)
    }

    /// Bytes of backward scratch per thread for scalar type S: the dot sums and, for two lanes
    /// at a batch other than four, ν of the longest span.
    func scratchBytes<S: NetworkScalar>(_: S.Type) -> Int { DotSums<S>.bytes(edges: maxEdges, spare: spans.maxCells * 2 * batch) }
}

/// A stable copy of an array (at least one element).
private func copy<T>(_ a: [T]) -> UnsafeMutablePointer<T> {
    let p = UnsafeMutablePointer<T>.allocate(capacity: max(1, a.count))
    p.initialize(from: a, count: a.count)
    return p
}
