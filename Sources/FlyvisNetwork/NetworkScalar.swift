import FlyvisBase
import FlyvisConnectome
import Foundation

/// Float types the network core runs in: Float32 for training (like the reference), Float64
/// for finite-difference gradient checks.
package protocol NetworkScalar: BinaryFloatingPoint, SIMDScalar, Sendable, Codable {
    static func exponential(_ x: Self) -> Self
    static func logOnePlus(_ x: Self) -> Self
    static func hyperbolicTangent(_ x: Self) -> Self
    /// The ReLU adjoint update c·λ + (f > 0 ? μ : 0), lane by lane. A requirement, so that
    /// each concrete type compiles its own vector compare (on a generic scalar it becomes
    /// element-by-element mask building).
    static func reluAdjoint(_ c: SIMD8<Self>, _ lambda: SIMD8<Self>, _ mu: SIMD8<Self>, gate f: SIMD8<Self>) -> SIMD8<Self>
    /// Lane-wise minimum and maximum (a requirement for the same reason).
    static func lanewiseMinMax(_ lo: inout SIMD8<Self>, _ hi: inout SIMD8<Self>, _ x: SIMD8<Self>)
}

extension Float: NetworkScalar {
    @inlinable package static func exponential(_ x: Float) -> Float { Foundation.exp(x) }
    @inlinable package static func logOnePlus(_ x: Float) -> Float { Foundation.log1p(x) }
    @inlinable package static func hyperbolicTangent(_ x: Float) -> Float { Foundation.tanh(x) }
    @inlinable @inline(__always)
    package static func reluAdjoint(_ c: SIMD8<Float>, _ lambda: SIMD8<Float>, _ mu: SIMD8<Float>, gate f: SIMD8<Float>) -> SIMD8<Float> {
        c * lambda + mu.replacing(with: 0, where: .!(f .> 0))
    }
    @inlinable @inline(__always)
    package static func lanewiseMinMax(_ lo: inout SIMD8<Float>, _ hi: inout SIMD8<Float>, _ x: SIMD8<Float>) {
        lo = lo.replacing(with: x, where: x .< lo)
        hi = hi.replacing(with: x, where: x .> hi)
    }
}

extension Double: NetworkScalar {
    package static func exponential(_ x: Double) -> Double { Foundation.exp(x) }
    package static func logOnePlus(_ x: Double) -> Double { Foundation.log1p(x) }
    package static func hyperbolicTangent(_ x: Double) -> Double { Foundation.tanh(x) }
    @inlinable @inline(__always)
    package static func reluAdjoint(
        _ c: SIMD8<Double>, _ lambda: SIMD8<Double>, _ mu: SIMD8<Double>, gate f: SIMD8<Double>
    ) -> SIMD8<Double> {
        c * lambda + mu.replacing(with: 0, where: .!(f .> 0))
    }
    @inlinable @inline(__always)
    package static func lanewiseMinMax(_ lo: inout SIMD8<Double>, _ hi: inout SIMD8<Double>, _ x: SIMD8<Double>) {
        lo = lo.replacing(with: x, where: x .< lo)
        hi = hi.replacing(with: x, where: x .> hi)
    }
}
