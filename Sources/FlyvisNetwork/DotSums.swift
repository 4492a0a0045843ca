import FlyvisConnectome

/// Per-edge-entry partial sums of the strength-gradient dot products in a thread's scratch,
/// followed by spare room (ν for `twoLanesAnyBatch`).
struct DotSums<S: NetworkScalar> {
    let vector: UnsafeMutablePointer<SIMD8<S>>
    let spare: UnsafeMutableRawPointer
    let edges: Int

    init(_ scratch: UnsafeMutableRawPointer, edges n: Int) {
        vector = scratch.bindMemory(to: SIMD8<S>.self, capacity: max(n, 1))
        spare = UnsafeMutableRawPointer(vector + max(n, 1))
        edges = n
        vector.initialize(repeating: .zero, count: n)
    }

    /// Bytes of scratch for `edges` entries and `spare` values of S.
    static func bytes(edges: Int, spare: Int) -> Int {
        max(1, edges) * MemoryLayout<SIMD8<S>>.stride + spare * MemoryLayout<S>.stride
    }

    /// dots[edgeTypes[e]] = the sum of entry e.
    func finish(into dots: UnsafeMutablePointer<S>, edgeTypes: UnsafePointer<Int32>) {
        for e in 0..<edges { dots[Int(edgeTypes[e])] = vector[e].sum() }
    }
}
