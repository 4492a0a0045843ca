import FlyvisConnectome

/// The engine's per-term copies of the parameters in the kernels' orders: the forward's
/// weights, the backward's scales (sign·exp(count)) and per edge entry the strengths.
struct StencilWeights<S: NetworkScalar> {
    let forward: UnsafeMutablePointer<S>
    let scale: UnsafeMutablePointer<S>
    let strength: UnsafeMutablePointer<S>
}
