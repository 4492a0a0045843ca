import FlyvisHex
import FlyvisNetwork
@_exported import FlyvisRandom
import Foundation

/// Invalid decoder configuration or input.
package enum DecoderError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(key: String, problem: String)
    case inputShape(expected: [Int], found: Int)

    package var description: String {
        switch self {
        case let .invalidConfig(key, problem): return "task.decoder.flow.\(key): \(problem)"
        case let .inputShape(expected, found): return "decoder input has \(found) values, expected \(expected)"
        }
    }
}

/// flyvis's `DecoderGAVP` configuration (task.decoder.<task>).
package struct DecoderConfig: Sendable, Equatable {
    package enum ActivationKind: String, Sendable, CaseIterable {
        case softplus = "Softplus", relu = "ReLU", elu = "ELU", tanh = "Tanh", sigmoid = "Sigmoid"
    }
    package var shape: [Int] = [8, 2]
    package var kernelSize = 5
    package var constWeight: Float? = 0.001
    package var pDropout: Double = 0.5
    package var batchNorm = true
    package var activation = ActivationKind.softplus
    package var normalizeLast = true
    package var nOutFeatures: Int?

    package init() {}

    func validate() throws(DecoderError) {
        guard !shape.isEmpty, shape.allSatisfy({ $0 >= 0 }), shape.last! > 0 else {
            throw .invalidConfig(key: "shape", problem: "needs non-negative channel counts ending in a positive one, e.g. [8, 2]")
        }
        guard kernelSize >= 1, kernelSize % 2 == 1 else {
            throw .invalidConfig(key: "kernel_size", problem: "must be odd and positive (got \(kernelSize))")
        }
        guard (0..<1).contains(pDropout) else {
            throw .invalidConfig(key: "p_dropout", problem: "must be in [0, 1) (got \(pDropout))")
        }
        if let n = nOutFeatures, n < 1 { throw .invalidConfig(key: "n_out_features", problem: "must be positive or null") }
    }
}

/// One layer of the decoder's sequential stacks, with the buffers its backward needs.
enum DecoderLayer {
    case conv(HexConv)
    case batchNorm(BatchNorm)
    case activation(DecoderConfig.ActivationKind)
    case dropout(Double)

    var phaseName: String {
        switch self {
        case .conv: "conv"
        case .batchNorm: "batchnorm"
        case .activation: "activation"
        case .dropout: "dropout"
        }
    }
}

/// Hex-masked 2-D convolution (PyTorch cross-correlation, zero padding k/2), computed by the
/// direct kernels in DirectConv.swift. Only the taps inside the hexagonal kernel are stored; the masked taps stay zero
/// permanently (their gradient is masked), which gives the same forward as flyvis's in-place
/// re-masking.
final class HexConv {
    let inChannels: Int, outChannels: Int, kernel: Int
    let taps: [(dy: Int, dx: Int)]    // in torch's (ky, kx) row-major order, offsets from centre
    var weight: [Float]               // (out, in · taps)
    var bias: [Float]
    var gradWeight: [Float]
    var gradBias: [Float]

    init(inChannels: Int, outChannels: Int, kernel: Int, constWeight: Float?, rng: inout RandomState) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        let r = kernel / 2
        var taps: [(Int, Int)] = []
        for ky in 0..<kernel {
            for kx in 0..<kernel {
                let u = ky - r, v = kx - r
                if kernel == 1 || (abs(u) <= r && abs(v) <= r && abs(u + v) <= r) { taps.append((u, v)) }
            }
        }
        self.taps = taps
        let k = inChannels * taps.count
        if let c = constWeight {
            weight = [Float](repeating: c, count: outChannels * k)
            bias = [Float](repeating: c, count: outChannels)
        } else {
            // PyTorch's default (kaiming-uniform bound 1/sqrt(fan_in)), from our seeded generator.
            let bound = 1 / Float(inChannels * kernel * kernel).squareRoot()
            weight = (0..<(outChannels * k)).map { _ in (rng.uniformFloat() * 2 - 1) * bound }
            bias = (0..<outChannels).map { _ in (rng.uniformFloat() * 2 - 1) * bound }
        }
        gradWeight = [Float](repeating: 0, count: weight.count)
        gradBias = [Float](repeating: 0, count: outChannels)
    }

    var columns: Int { inChannels * taps.count }

    /// The weight as torch stores it: (out, in, k, k) with zeros at masked taps.
    func torchWeight(_ compact: [Float]) -> [Float] {
        var full = [Float](repeating: 0, count: outChannels * inChannels * kernel * kernel)
        let r = kernel / 2
        for o in 0..<outChannels {
            for i in 0..<inChannels {
                for (t, tap) in taps.enumerated() {
                    full[((o * inChannels + i) * kernel + tap.dy + r) * kernel + tap.dx + r] = compact[o * columns + i * taps.count + t]
                }
            }
        }
        return full
    }

    func setTorchWeight(_ full: [Float]) {
        let r = kernel / 2
        for o in 0..<outChannels {
            for i in 0..<inChannels {
                for (t, tap) in taps.enumerated() {
                    weight[o * columns + i * taps.count + t] = full[((o * inChannels + i) * kernel + tap.dy + r) * kernel + tap.dx + r]
                }
            }
        }
    }
}

/// BatchNorm2d (eps 1e-5, momentum 0.1) with PyTorch's train/eval semantics.
final class BatchNorm {
    let channels: Int
    var weight: [Float], bias: [Float]
    var runningMean: [Float], runningVar: [Float]
    var batchesTracked: Int64 = 0
    var gradWeight: [Float], gradBias: [Float]
    // Saved for backward.
    var mean: [Float] = [], invStd: [Float] = []
    let eps: Float = 1e-5, momentum: Float = 0.1

    init(channels: Int) {
        self.channels = channels
        weight = [Float](repeating: 1, count: channels)
        bias = [Float](repeating: 0, count: channels)
        runningMean = [Float](repeating: 0, count: channels)
        runningVar = [Float](repeating: 1, count: channels)
        gradWeight = [Float](repeating: 0, count: channels)
        gradBias = [Float](repeating: 0, count: channels)
    }
}

/// flyvis's flow decoder: the rectified activity of the output cell types on the hex map,
/// hex-masked convolutions with BatchNorm, activation and dropout, a last convolution, optional
/// normalisation by (softplus + 1) of an extra channel, read back at the hexals.
/// A class: it owns large reusable buffers and the running statistics.
package final class FlowDecoder {
    package let config: DecoderConfig
    package let lattice: HexLattice
    package let inChannels: Int
    package var training = true
    package var dropoutRNG: RandomState

    let base: [DecoderLayer]
    let head: [DecoderLayer]
    let outChannels: Int          // channels read back (shape[-1] · n_out_features or shape[-1])
    let convOut: Int              // channels of the last conv (+1 when normalize_last)
    let pixels: [Int]             // hexal → pixel
    let side: Int
    /// Per map row, the first and last column holding a hexal (the hexagon's rows are
    /// contiguous): the pixels the last convolution's forward must produce and the first one's
    /// input gradient must reach.
    let hexSpans: DirectConv.Spans
    /// The hexals of each map row: row y's are rowHexalColumn/rowHexalIndex[rowHexalStart[y]
    /// ..< rowHexalStart[y + 1]] (column, hexal index).
    let rowHexalStart: [Int], rowHexalColumn: [Int], rowHexalIndex: [Int]

    // Forward caches (per layer input), reused across calls of the same size.
    private var activations: [[Float]] = []
    private var dropoutMasks: [Int: [Float]] = [:]
    private var lastOut: [Float] = []
    private var inputMap: [Float] = []
    private var gradInputBuffer: [Float] = []
    private var images = 0

    package init(config: DecoderConfig = DecoderConfig(), lattice: HexLattice, inChannels: Int, seed: UInt64 = 0) throws(DecoderError) {
        try config.validate()
        self.config = config
        self.lattice = lattice
        self.inChannels = inChannels
        side = lattice.side
        pixels = lattice.cartesianPixel
        var spans = DirectConv.Spans(repeating: (lattice.side, -1), count: lattice.side)
        for q in lattice.cartesianPixel {
            let (y, x) = q.quotientAndRemainder(dividingBy: lattice.side)
            spans[y] = (min(spans[y].x0, x), max(spans[y].x1, x))
        }
        hexSpans = spans
        let byRow = lattice.cartesianPixel.enumerated().map { ($0.element, $0.offset) }.sorted { $0.0 < $1.0 }
        rowHexalColumn = byRow.map { $0.0 % lattice.side }
        rowHexalIndex = byRow.map { $0.1 }
        rowHexalStart = (0...lattice.side).map { y in byRow.firstIndex { $0.0 / lattice.side >= y } ?? byRow.count }
        var rng = RandomState(seed: seed ^ SeedSalt.decoderInit)
        var layers: [DecoderLayer] = []
        var c = inChannels
        for width in config.shape.dropLast() where width != 0 {
            layers.append(.conv(HexConv(inChannels: c, outChannels: width, kernel: config.kernelSize,
                                        constWeight: config.constWeight, rng: &rng)))
            if config.batchNorm { layers.append(.batchNorm(BatchNorm(channels: width))) }
            layers.append(.activation(config.activation))
            if config.pDropout > 0 { layers.append(.dropout(config.pDropout)) }
            c = width
        }
        base = layers
        var decoderLayers: [DecoderLayer] = []
        if layers.isEmpty && config.batchNorm { decoderLayers.append(.batchNorm(BatchNorm(channels: c))) }
        outChannels = config.shape.last! * (config.nOutFeatures ?? 1)
        convOut = outChannels + (config.normalizeLast ? 1 : 0)
        decoderLayers.append(.conv(HexConv(inChannels: c, outChannels: convOut, kernel: config.kernelSize,
                                           constWeight: config.constWeight, rng: &rng)))
        head = decoderLayers
        dropoutRNG = RandomState(seed: seed ^ SeedSalt.dropout)
    }

    private var layers: [DecoderLayer] { base + head }

    /// The output shape per frame: (channels, hexals), or (shape[-1], n_out_features) with the
    /// global-average-pooling head.
    package var outputPerFrame: Int { config.nOutFeatures != nil ? outChannels : outChannels * lattice.count }

    // MARK: Parameters under torch's state-dict names

    /// Parameter and buffer names in torch's state-dict order.
    package var stateNames: [String] {
        var names: [String] = []
        for (prefix, stack) in [("base", base), ("decoder", head)] {
            for (i, layer) in stack.enumerated() {
                switch layer {
                case .conv: names += ["\(prefix).\(i).weight", "\(prefix).\(i).bias"]
                case .batchNorm:
                    names += ["\(prefix).\(i).weight", "\(prefix).\(i).bias", "\(prefix).\(i).running_mean",
                              "\(prefix).\(i).running_var", "\(prefix).\(i).num_batches_tracked"]
                default: break
                }
            }
        }
        return names
    }

    /// Trainable parameter names (torch's `parameters()` order).
    package var parameterNames: [String] { stateNames.filter { !$0.contains("running") && !$0.contains("num_batches") } }

    private func layer(named name: String) -> (DecoderLayer, String)? {
        let parts = name.split(separator: ".")
        guard parts.count == 3, let i = Int(parts[1]) else { return nil }
        let stack = parts[0] == "base" ? base : (parts[0] == "decoder" ? head : [])
        guard i < stack.count else { return nil }
        return (stack[i], String(parts[2]))
    }

    /// A state entry as torch stores it (conv weights as (out, in, k, k) with masked zeros),
    /// with its shape. `num_batches_tracked` is returned as a one-element Float array.
    package func state(_ name: String) -> (values: [Float], shape: [Int])? {
        guard let (layer, key) = layer(named: name) else { return nil }
        switch (layer, key) {
        case let (.conv(c), "weight"): return (c.torchWeight(c.weight), [c.outChannels, c.inChannels, c.kernel, c.kernel])
        case let (.conv(c), "bias"): return (c.bias, [c.outChannels])
        case let (.batchNorm(b), "weight"): return (b.weight, [b.channels])
        case let (.batchNorm(b), "bias"): return (b.bias, [b.channels])
        case let (.batchNorm(b), "running_mean"): return (b.runningMean, [b.channels])
        case let (.batchNorm(b), "running_var"): return (b.runningVar, [b.channels])
        case let (.batchNorm(b), "num_batches_tracked"): return ([Float(b.batchesTracked)], [])
        default: return nil
        }
    }

    /// Sets a state entry from torch's layout; masked conv taps are ignored.
    package func setState(_ name: String, _ values: [Float]) throws(DecoderError) {
        guard let (layer, key) = layer(named: name), let current = state(name), current.values.count == values.count else {
            throw .invalidConfig(key: name, problem: "unknown decoder state entry or wrong size (\(values.count) values)")
        }
        switch (layer, key) {
        case let (.conv(c), "weight"): c.setTorchWeight(values)
        case let (.conv(c), "bias"): c.bias = values
        case let (.batchNorm(b), "weight"): b.weight = values
        case let (.batchNorm(b), "bias"): b.bias = values
        case let (.batchNorm(b), "running_mean"): b.runningMean = values
        case let (.batchNorm(b), "running_var"): b.runningVar = values
        case let (.batchNorm(b), "num_batches_tracked"): b.batchesTracked = Int64(values[0])
        default: break
        }
    }

    /// Gradient of a trainable parameter in torch's layout (zeros at masked taps).
    package func gradient(_ name: String) -> [Float]? {
        guard let (layer, key) = layer(named: name) else { return nil }
        switch (layer, key) {
        case let (.conv(c), "weight"): return c.torchWeight(c.gradWeight)
        case let (.conv(c), "bias"): return c.gradBias
        case let (.batchNorm(b), "weight"): return b.gradWeight
        case let (.batchNorm(b), "bias"): return b.gradBias
        default: return nil
        }
    }

    /// Direct access to a trainable parameter's storage (compact conv weights), for optimizers.
    package func withParameter<R>(_ name: String, _ body: (inout [Float], [Float]) -> R) -> R? {
        guard let (layer, key) = layer(named: name) else { return nil }
        switch (layer, key) {
        case let (.conv(c), "weight"): return body(&c.weight, c.gradWeight)
        case let (.conv(c), "bias"): return body(&c.bias, c.gradBias)
        case let (.batchNorm(b), "weight"): return body(&b.weight, b.gradWeight)
        case let (.batchNorm(b), "bias"): return body(&b.bias, b.gradBias)
        default: return nil
        }
    }

    /// Converts an array shaped like a parameter's storage (compact conv taps) to torch's layout.
    package func torchLayout(_ name: String, _ compact: [Float]) -> [Float] {
        guard let (layer, key) = layer(named: name), case let .conv(c) = layer, key == "weight" else { return compact }
        return c.torchWeight(compact)
    }

    /// Converts a torch-layout array to the parameter's storage layout (drops masked taps).
    package func storageLayout(_ name: String, _ torch: [Float]) -> [Float] {
        guard let (layer, key) = layer(named: name), case let .conv(c) = layer, key == "weight" else { return torch }
        let saved = c.weight
        c.setTorchWeight(torch)
        let compact = c.weight
        c.weight = saved
        return compact
    }

    /// Number of parameters as flyvis counts them (masked taps included).
    package var parameterCount: Int { parameterNames.reduce(0) { $0 + (state($1)?.values.count ?? 0) } }

    /// Useful floating-point operations (2 per multiply-add) of the convolutions in one forward
    /// and backward over `images` frames: live taps only, and only the pixels the math needs —
    /// the whole 31 × 31 map for a convolution feeding BatchNorm statistics (flyvis computes
    /// them too), the hexals for the last one's output and dOut and for the first one's input
    /// gradient. Padding and the masked taps are not counted.
    package func convolutionFlops(images: Int) -> Double {
        let map = side * side, hex = lattice.count, all = layers
        var total = 0
        for (index, layer) in all.enumerated() {
            guard case let .conv(c) = layer else { continue }
            let macs = c.inChannels * c.outChannels * c.taps.count
            let out = index == all.count - 1 ? hex : map, input = index == 0 ? hex : map
            total += macs * (2 * out + input)
        }
        return 2 * Double(total) * Double(images)
    }

    // MARK: Forward

    /// Decodes `input` (B, T, inChannels, hexals) of network activity (rectified here) into
    /// (B, T, outChannels, hexals), or (B, T, shape[-1], n_out_features) with the GAVP head.
    package func forward(_ input: UnsafeBufferPointer<Float>, batch: Int, frames: Int) throws(DecoderError) -> [Float] {
        let hexals = lattice.count
        guard input.count == batch * frames * inChannels * hexals else {
            throw .inputShape(expected: [batch, frames, inChannels, hexals], found: input.count)
        }
        images = batch * frames
        var clock = PhaseClock()
        defer { clock.lap("forward_readout"); lastTimings = clock.phases }
        activations = []
        dropoutMasks = [:]
        placeInput(input)
        var x = inputMap
        clock.lap("forward_input")
        for (index, layer) in layers.enumerated() {
            activations.append(x)
            switch layer {
            case let .conv(conv):
                // The last layer's output is read at the hexals only; earlier ones feed
                // BatchNorm statistics over the whole map.
                x = convForward(conv, x, spans: index == layers.count - 1 ? hexSpans : nil)
            case let .batchNorm(bn): batchNormForward(bn, &x)
            case let .activation(kind): activationForward(kind, &x)
            case let .dropout(prob): if training { dropoutForward(prob, layer: index, &x) }
            }
            clock.lap("forward_\(layer.phaseName)")
        }
        lastOut = x
        return readOut(x)
    }

    /// Rectifies the input and places it on the square map (zeros off the hexagon), in
    /// `inputMap`. Activations are channel-major, (channels, images, pixels): BatchNorm
    /// statistics are contiguous per channel. The map buffer is kept between calls:
    /// off-hexagon pixels are never written, so they stay zero, and releasing the last step's
    /// activations first makes the buffer unique, so it is refilled in place instead of
    /// reallocated (21 MB at the reference size).
    private func placeInput(_ input: UnsafeBufferPointer<Float>) {
        let hexals = lattice.count, p = side * side, N = images, C = inChannels
        if inputMap.count != N * C * p { inputMap = [Float](repeating: 0, count: N * C * p) }
        inputMap.withUnsafeMutableBufferPointer { xb in pixels.withUnsafeBufferPointer { pb in
            let xp = xb.baseAddress!, px = pb.baseAddress!, ip = input.baseAddress!
            splitRange(N, threads) { range in
                for n in range {
                    for c in 0..<C {
                        let src = ip + (n * C + c) * hexals, dst = xp + (c * N + n) * p
                        for h in 0..<hexals { let v = src[h]; dst[px[h]] = v > 0 ? v : 0 }
                    }
                }
            }
        } }
    }

    /// Dropout in place, saving the mask for backward. One generator draw per element in
    /// element order, so the mask sequence is the same for any thread count and across resume.
    private func dropoutForward(_ prob: Double, layer index: Int, _ x: inout [Float]) {
        let keep = Float(1 - prob), scale = 1 / Float(1 - prob)
        var mask = [Float](repeating: 0, count: x.count)
        var rng = dropoutRNG
        x.withUnsafeMutableBufferPointer { xb in mask.withUnsafeMutableBufferPointer { mb in
            for i in 0..<xb.count {
                let m: Float = rng.uniformFloat() < keep ? scale : 0
                mb[i] = m
                xb[i] *= m
            }
        } }
        dropoutRNG = rng
        dropoutMasks[index] = mask
    }

    /// The last convolution's output read back at the hexals, divided by (softplus + 1) of the
    /// extra channel with normalize_last; averaged over the hexals with the GAVP head,
    /// (B, T, shape[-1], n_out_features).
    private func readOut(_ x: [Float]) -> [Float] {
        let hexals = lattice.count, p = side * side, N = images
        var out = [Float](repeating: 0, count: images * outChannels * hexals)
        let O = outChannels, normalize = config.normalizeLast
        out.withUnsafeMutableBufferPointer { ob in x.withUnsafeBufferPointer { xb in pixels.withUnsafeBufferPointer { pb in
            let op = ob.baseAddress!, xp = xb.baseAddress!, px = pb.baseAddress!
            splitRange(N, threads) { range in
                for n in range {
                    for c in 0..<O {
                        let plane = xp + (c * N + n) * p, norm = xp + (O * N + n) * p
                        let dst = op + (n * O + c) * hexals
                        for h in 0..<hexals {
                            var y = plane[px[h]]
                            if normalize { y /= SIMDSoftplus.value(norm[px[h]]) + 1 }
                            dst[h] = y
                        }
                    }
                }
            }
        } } }
        guard config.nOutFeatures != nil else { return out }
        return (0..<(images * outChannels)).map { k in
            var s: Float = 0
            for h in 0..<hexals { s += out[k * hexals + h] }
            return s / Float(hexals)
        }
    }

    /// Seconds per phase of the last forward and backward ("forward_conv", ...), summed over
    /// layers of a kind, for `bench`.
    package private(set) var lastTimings: [String: Double] = [:]

    /// Worker threads for the convolutions (images are split into fixed ranges; results are
    /// bitwise independent of the count).
    package var threads = 1

    private func convForward(_ conv: HexConv, _ x: [Float], spans: DirectConv.Spans?) -> [Float] {
        let p = side * side, N = images
        var out = [Float](repeating: 0, count: N * conv.outChannels * p)
        let k = DirectConv(inChannels: conv.inChannels, outChannels: conv.outChannels, taps: conv.taps, side: side, pad: conv.kernel / 2, threads: threads)
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in
                k.forward(xb.baseAddress!, images: N, weights: conv.weight, bias: conv.bias, out: ob.baseAddress!, spans: spans)
            }
        }
        return out
    }

    /// The activation in place; softplus (the default) eight lanes at a time.
    private func activationForward(_ kind: DecoderConfig.ActivationKind, _ x: inout [Float]) {
        x.withUnsafeMutableBufferPointer { xb in
            let xp = xb.baseAddress!
            if kind == .softplus {
                splitRange(xb.count, threads) { range in SIMDSoftplus.map(xp, nil, range) { v, _ in SIMDSoftplus.value(v) } }
                return
            }
            let f = kind.function
            splitRange(xb.count, threads) { range in for i in range { xp[i] = f.value(xp[i]) } }
        }
    }

    /// g ← g · f′(input), softplus eight lanes at a time.
    private func activationBackward(_ kind: DecoderConfig.ActivationKind, _ input: [Float], _ g: inout [Float]) {
        g.withUnsafeMutableBufferPointer { gb in input.withUnsafeBufferPointer { ib in
            let gp = gb.baseAddress!, ip = ib.baseAddress!
            if kind == .softplus {
                splitRange(gb.count, threads) { range in
                    SIMDSoftplus.map(gp, ip, range) { v, z in v * SIMDSoftplus.derivative(z) }
                }
                return
            }
            let f = kind.function
            splitRange(gb.count, threads) { range in for i in range { gp[i] *= f.derivative(ip[i]) } }
        } }
    }

    private func batchNormForward(_ bn: BatchNorm, _ x: inout [Float]) {
        let p = side * side, C = bn.channels
        let count = images * p
        x.withUnsafeMutableBufferPointer { xb in
            if training {
                bn.mean = [Float](repeating: 0, count: C)
                bn.invStd = [Float](repeating: 0, count: C)
                for c in 0..<C {
                    let v = UnsafeBufferPointer(rebasing: xb[(c * count)..<((c + 1) * count)])
                    let mean = preciseSum(v) / Double(count)
                    let variance = preciseSquaredDeviation(v, mean) / Double(count)
                    bn.mean[c] = Float(mean)
                    bn.invStd[c] = Float(1 / (variance + Double(bn.eps)).squareRoot())
                    bn.runningMean[c] = (1 - bn.momentum) * bn.runningMean[c] + bn.momentum * Float(mean)
                    bn.runningVar[c] = (1 - bn.momentum) * bn.runningVar[c]
                        + bn.momentum * Float(variance * Double(count) / Double(max(count - 1, 1)))
                }
                bn.batchesTracked += 1
            } else {
                bn.mean = bn.runningMean
                bn.invStd = bn.runningVar.map { 1 / ($0 + bn.eps).squareRoot() }
            }
            for c in 0..<C {
                let m = bn.mean[c], s = bn.invStd[c] * bn.weight[c], b = bn.bias[c]
                let base = xb.baseAddress! + c * count
                for i in 0..<count { base[i] = (base[i] - m) * s + b }
            }
        }
    }

    // MARK: Backward

    /// Backpropagates ∂L/∂output (shape of `forward`'s result). Parameter gradients are
    /// written (not accumulated) into the layers; the result is ∂L/∂input (B, T, inChannels,
    /// hexals), including the input rectification.
    package func backward(_ gradOutput: UnsafeBufferPointer<Float>) -> [Float] {
        var clock = PhaseClock()
        defer { clock.lap("backward_input"); lastTimings.merge(clock.phases) { $1 } }
        var g = readOutBackward(gradOutput)
        clock.lap("backward_readout")
        if gradInputBuffer.count != images * inChannels * lattice.count {
            gradInputBuffer = [Float](repeating: 0, count: images * inChannels * lattice.count)
        }
        var written = false
        for (index, layer) in layers.enumerated().reversed() {
            let input = activations[index]
            switch layer {
            case let .conv(conv) where index == 0:
                convBackwardToInput(conv, input, g, outputSpans: layers.count == 1 ? hexSpans : nil, clock: &clock)
                written = true
            case let .conv(conv):
                // dOut of the last layer is zero off the hexagon.
                g = convBackward(conv, input, g, outputSpans: index == layers.count - 1 ? hexSpans : nil,
                                 inputSpans: nil, clock: &clock)
            case let .batchNorm(bn): batchNormBackward(bn, input, &g)
            case let .activation(kind): activationBackward(kind, input, &g)
            case .dropout: if let mask = dropoutMasks[index] { multiply(&g, by: mask) }
            }
            clock.lap("backward_\(layer.phaseName)")
        }
        if !written { gatherInputGradient(g) }
        return gradInputBuffer
    }

    /// ∂L/∂(last convolution's output) on the map, zero off the hexagon: through the GAVP
    /// head's average and normalize_last's division by (softplus + 1) of the extra channel.
    private func readOutBackward(_ gradOutput: UnsafeBufferPointer<Float>) -> [Float] {
        let hexals = lattice.count, p = side * side
        var g = [Float](repeating: 0, count: lastOut.count)
        var gradHex = [Float]()
        if config.nOutFeatures != nil {
            gradHex = [Float](repeating: 0, count: images * outChannels * hexals)
            for k in 0..<(images * outChannels) {
                let v = gradOutput[k] / Float(hexals)
                for h in 0..<hexals { gradHex[k * hexals + h] = v }
            }
        } else {
            gradHex = Array(gradOutput)
        }
        let x = lastOut, N = images, O = outChannels, normalize = config.normalizeLast
        g.withUnsafeMutableBufferPointer { gb in x.withUnsafeBufferPointer { xb in
        gradHex.withUnsafeBufferPointer { hb in pixels.withUnsafeBufferPointer { pb in
            let gp = gb.baseAddress!, xp = xb.baseAddress!, hp = hb.baseAddress!, px = pb.baseAddress!
            splitRange(N, threads) { range in
                for n in range {
                    for c in 0..<O {
                        let plane = (c * N + n) * p, norm = (O * N + n) * p
                        let src = hp + (n * O + c) * hexals
                        for h in 0..<hexals {
                            let q = px[h], dy = src[h]
                            if normalize {
                                let z = xp[norm + q], den = SIMDSoftplus.value(z) + 1
                                gp[plane + q] += dy / den
                                gp[norm + q] -= dy * xp[plane + q] / (den * den) * SIMDSoftplus.derivative(z)
                            } else {
                                gp[plane + q] += dy
                            }
                        }
                    }
                }
            }
        } } } }
        return g
    }

    private func multiply(_ g: inout [Float], by mask: [Float]) {
        g.withUnsafeMutableBufferPointer { gb in mask.withUnsafeBufferPointer { mb in
            for i in 0..<gb.count { gb[i] *= mb[i] }
        } }
    }

    /// Back to (B, T, inChannels, hexals) in `gradInputBuffer`, through the input ReLU, when
    /// the first layer is not a convolution (which writes there itself). The ReLU's derivative
    /// is read off the rectified input map (activations[0]). Every element is written, so the
    /// buffer is reused between calls (the caller's copy from the last call is gone by then,
    /// so this writes in place).
    private func gatherInputGradient(_ g: [Float]) {
        let hexals = lattice.count, p = side * side, N = images, C = inChannels
        gradInputBuffer.withUnsafeMutableBufferPointer { ob in g.withUnsafeBufferPointer { gb in
        activations[0].withUnsafeBufferPointer { rb in pixels.withUnsafeBufferPointer { pb in
            let op = ob.baseAddress!, gp = gb.baseAddress!, rp = rb.baseAddress!, px = pb.baseAddress!
            splitRange(N, threads) { range in
                for n in range {
                    for c in 0..<C {
                        let src = gp + (c * N + n) * p, relu = rp + (c * N + n) * p, dst = op + (n * C + c) * hexals
                        for h in 0..<hexals { let q = px[h]; dst[h] = relu[q] > 0 ? src[q] : 0 }
                    }
                }
            }
        } } } }
    }

    private func convBackward(_ conv: HexConv, _ x: [Float], _ g: [Float], outputSpans: DirectConv.Spans?,
                              inputSpans: DirectConv.Spans?, clock: inout PhaseClock) -> [Float] {
        let p = side * side, N = images
        var gradIn = [Float](repeating: 0, count: N * conv.inChannels * p)
        let k = DirectConv(inChannels: conv.inChannels, outChannels: conv.outChannels, taps: conv.taps, side: side, pad: conv.kernel / 2, threads: threads)
        conv.gradBias = (0..<conv.outChannels).map { c in
            g.withUnsafeBufferPointer { Float(preciseSum(UnsafeBufferPointer(rebasing: $0[(c * N * p)..<((c + 1) * N * p)]))) }
        }
        x.withUnsafeBufferPointer { xb in
            g.withUnsafeBufferPointer { gb in
                conv.gradWeight = k.backwardWeights(xb.baseAddress!, gb.baseAddress!, images: N, spans: outputSpans)
                clock.lap("backward_conv_weights")
                gradIn.withUnsafeMutableBufferPointer { ib in
                    k.backwardInput(gb.baseAddress!, images: N, weights: conv.weight, into: ib.baseAddress!,
                                    spans: inputSpans, accumulate: false)
                }
            }
        }
        return gradIn
    }

    /// The first convolution's backward: its input gradient goes straight to the hexals of
    /// `gradInputBuffer` (B, T, inChannels, hexals), through the input ReLU, computed at the
    /// hexals only, without a map-shaped buffer.
    private func convBackwardToInput(_ conv: HexConv, _ x: [Float], _ g: [Float], outputSpans: DirectConv.Spans?,
                                     clock: inout PhaseClock) {
        let p = side * side, N = images, C = inChannels, hexals = lattice.count, W = side
        let k = DirectConv(inChannels: conv.inChannels, outChannels: conv.outChannels, taps: conv.taps, side: side, pad: conv.kernel / 2, threads: threads)
        conv.gradBias = (0..<conv.outChannels).map { c in
            g.withUnsafeBufferPointer { Float(preciseSum(UnsafeBufferPointer(rebasing: $0[(c * N * p)..<((c + 1) * N * p)]))) }
        }
        let weight = conv.weight
        x.withUnsafeBufferPointer { xb in g.withUnsafeBufferPointer { gb in
            conv.gradWeight = k.backwardWeights(xb.baseAddress!, gb.baseAddress!, images: N, spans: outputSpans)
            clock.lap("backward_conv_weights")
            gradInputBuffer.withUnsafeMutableBufferPointer { ob in
            rowHexalStart.withUnsafeBufferPointer { sb in rowHexalColumn.withUnsafeBufferPointer { cb in
            rowHexalIndex.withUnsafeBufferPointer { hb in
                let op = ob.baseAddress!, xp = xb.baseAddress!, rs = sb.baseAddress!, col = cb.baseAddress!, hx = hb.baseAddress!
                k.backwardInput(gb.baseAddress!, images: N, weights: weight, spans: hexSpans) { c, n, y, row, _, _ in
                    let relu = xp + (c * N + n) * p + y * W, dst = op + (n * C + c) * hexals
                    for j in rs[y]..<rs[y + 1] { let xq = col[j]; dst[hx[j]] = relu[xq] > 0 ? row[xq] : 0 }
                }
            } } } }
        } }
    }

    private func batchNormBackward(_ bn: BatchNorm, _ x: [Float], _ g: inout [Float]) {
        let p = side * side, C = bn.channels
        let count = images * p
        x.withUnsafeBufferPointer { xb in
            g.withUnsafeMutableBufferPointer { gb in
                for c in 0..<C {
                    let m = bn.mean[c], inv = bn.invStd[c]
                    let xs = xb.baseAddress! + c * count, gs = gb.baseAddress! + c * count
                    var sumG = 0.0, sumGX = 0.0
                    for j in 0..<count { let gj = Double(gs[j]); sumG += gj; sumGX += gj * Double((xs[j] - m) * inv) }
                    bn.gradBias[c] = Float(sumG)
                    bn.gradWeight[c] = Float(sumGX)
                    let scale = bn.weight[c] * inv
                    if training {
                        let meanG = Float(sumG / Double(count)), meanGX = Float(sumGX / Double(count))
                        for j in 0..<count { let xh = (xs[j] - m) * inv; gs[j] = scale * (gs[j] - meanG - xh * meanGX) }
                    } else {
                        for j in 0..<count { gs[j] *= scale }
                    }
                }
            }
        }
    }
}

/// Runs `body` on `parts` contiguous, fixed subranges of 0..<count (in parallel when
/// parts > 1). Only for element-wise work, so the result does not depend on `parts`.
func splitRange(_ count: Int, _ parts: Int, _ body: (Range<Int>) -> Void) {
    parallel(max(1, parts)) { k in body((count * k / parts)..<(count * (k + 1) / parts)) }
}

/// Sum accumulated in double (BatchNorm statistics over ~10⁵ values stay accurate).
func preciseSum(_ v: UnsafeBufferPointer<Float>) -> Double {
    var total = 0.0
    for x in v { total += Double(x) }
    return total
}

/// Σ (v − mean)², accumulated in double.
func preciseSquaredDeviation(_ v: UnsafeBufferPointer<Float>, _ mean: Double) -> Double {
    var total = 0.0
    for x in v { let d = Double(x) - mean; total += d * d }
    return total
}

extension DecoderConfig.ActivationKind {
    /// The activation function itself, shared with the network, with torch's defaults for the
    /// nn modules flyvis's decoder uses (Softplus: beta 1, threshold 20; ELU: alpha 1).
    package var function: Activation {
        switch self {
        case .softplus: return torchSoftplus
        case .relu: return .relu
        case .elu: return .elu(alpha: 1)
        case .tanh: return .tanh
        case .sigmoid: return .sigmoid
        }
    }
}

/// torch's `nn.Softplus()` (beta 1, threshold 20), which normalize_last also divides by.
let torchSoftplus = Activation.softplus(beta: 1, threshold: 20)


