import FlyvisBase
import FlyvisConnectome
import Foundation

/// Where a backward's cotangent for one frame goes: ∂L/∂(activity after that frame).
package struct CotangentSink<S: NetworkScalar> {
    let lambda: UnsafeMutablePointer<S>
    let nodeCell: UnsafePointer<Int32>
    let batch: Int
    /// Values per cell in the adjoint map (batch · lanes: the lanes are interleaved per cell).
    let cellStride: Int

    /// Adds g to ∂L/∂v for one node and batch element.
    @inline(__always)
    package func callAsFunction(_ node: Int, _ b: Int, _ g: S) {
        lambda[Int(nodeCell[node]) * cellStride + b] += g
    }

    /// Adds a contiguous node range at once: values[b · batchStride + (n − nodes.lowerBound)].
    /// At the batch of four, four nodes on consecutive cells (a hexagon row) at a time: one
    /// vector per batch element, transposed into one vector per cell (the scalar loop cost 1.5 ns
    /// per value, 5–7 ms of an iteration). Every λ value still gets exactly one addition.
    @_specialize(exported:true,where S == Float)
    package func add(nodes: Range<Int>, values: UnsafePointer<S>, batchStride: Int) {
        typealias V = SIMD4<S>
        @inline(__always) func load(_ p: UnsafePointer<S>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        @inline(__always) func one(_ n: Int) {
            let c = Int(nodeCell[n]) * cellStride, j = n - nodes.lowerBound
            for b in 0..<batch { lambda[c + b] += values[b * batchStride + j] }
        }
        var n = nodes.lowerBound
        if batch == 4 {
            let v0 = values - nodes.lowerBound, v1 = v0 + batchStride, v2 = v1 + batchStride, v3 = v2 + batchStride
            while n + 4 <= nodes.upperBound {
                let c = Int(nodeCell[n])
                guard Int(nodeCell[n + 3]) == c + 3 else { one(n); n += 1; continue }
                let a = load(v0 + n), b = load(v1 + n), x = load(v2 + n), y = load(v3 + n)
                for i in 0..<4 {
                    let p = lambda + (c + i) * cellStride
                    UnsafeMutableRawPointer(p).storeBytes(of: load(p) + V(a[i], b[i], x[i], y[i]), as: V.self)
                }
                n += 4
            }
        }
        while n < nodes.upperBound { one(n); n += 1 }
    }
}
