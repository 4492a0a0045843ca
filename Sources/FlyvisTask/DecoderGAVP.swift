import FlyvisBase
import FlyvisHex
import FlyvisNetwork
import FlyvisRandom
import Foundation

/// flyvis's `DecoderGAVP`, the decoder of every task (flow, depth): the rectified activity of the output cell types on the hex map,
/// hex-masked convolutions with BatchNorm, activation and dropout, a last convolution, optional
/// normalisation by (softplus + 1) of an extra channel, read back at the hexals.
/// A class: it owns large reusable buffers and the running statistics.
package final class DecoderGAVP {
    package let config: DecoderConfig
    package let lattice: HexLattice
    package let inChannels: Int
    package var training = true
    package var dropoutRNG: RandomState

    let base: [DecoderLayer]
    let head: [DecoderLayer]
    let outChannels: Int  // channels read back (shape[-1] · n_out_features or shape[-1])
    let convOut: Int  // channels of the last conv (+1 when normalize_last)
    let pixels: [Int]  // hexal → pixel
    let side: Int
    /// Per map row, the first and last column holding a hexal (the hexagon's rows are
    /// contiguous): the pixels the last convolution's forward must produce and the first one's
    /// input gradient must reach.
    let hexSpans: DirectConv.Spans
    /// The first hexal index of each map row: HexLattice numbers the hexals row by row, left
    /// to right, so row y's hexals are rowHexalStart[y] + (x − hexSpans[y].x0).
    let rowHexalStart: [Int]

    /// Per map row, the pixels where a convolution of an input that is zero off the hexagon
    /// can differ from its bias: the hexagon dilated by the kernel's taps (the hex kernel is
    /// symmetric, so this is also where a dOut that is zero off the hexagon reaches back to).
    /// The first convolution computes its output and reads its dOut only here (its grid's
    /// output pixels; the rest is its bias), and the last convolution's input gradient is
    /// zero off them.
    let reachSpans: DirectConv.Spans
    /// The first convolution's transform grid (SpectralConv), when the decoder starts with
    /// one: its input is zero off the hexagon, so the hexagon's periodic lattice serves.
    let firstGrid: SpectralGrid?

    // Buffers reused across calls of the same size, so that a warm call allocates no maps:
    // activations[i] is layer i's input (activations[0] the placed input map), and
    // activations[layers.count] the last convolution's output.
    private var activations: [[Float]] = []
    private var dropoutMasks: [[Float]] = []
    private var dropoutApplied = false
    /// ∂L/∂(input of layer i) for the convolutions' input gradients; slot layers.count holds
    /// the readout's ∂L/∂(last output), which is only ever written at the hexals.
    private var gradSlots: [[Float]] = []
    /// normalize_last's divisor softplus(z) + 1 and its slope σ(z) per (image, hexal).
    private var normDen: [Float] = [], normSlope: [Float] = []
    private var gradInputBuffer: [Float] = []
    /// The first convolution's kernel spectrum and its input's spectra from the last forward,
    /// and the spectra of its dOut (SpectralConv).
    private let inputSpectra = AlignedBuffer<Float>(), gradSpectra = AlignedBuffer<Float>()
    private var reluMask: [UInt8] = []
    /// Whether the last forward kept the first convolution's input spectra (training mode
    /// only: evaluation never runs a backward).
    private var spectraKept = false
    private let spectralScratch = SpectralConv.Scratch()
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
        let r = config.kernelSize / 2, W = lattice.side
        var reach = DirectConv.Spans(repeating: (W, -1), count: W)
        for q in lattice.cartesianPixel {
            let (y, x) = q.quotientAndRemainder(dividingBy: W)
            for u in -r...r {
                for v in -r...r where abs(u + v) <= r {
                    let yy = y + u, xx = x + v
                    guard (0..<W).contains(yy), (0..<W).contains(xx) else { continue }
                    reach[yy] = (min(reach[yy].x0, xx), max(reach[yy].x1, xx))
                }
            }
        }
        reachSpans = reach
        let hexPixels = lattice.cartesianPixel
        let rowStart = (0..<lattice.side).map { y in hexPixels.firstIndex { $0 / lattice.side >= y } ?? hexPixels.count }
        precondition(
            hexPixels.indices.allSatisfy { h in
                let (y, x) = hexPixels[h].quotientAndRemainder(dividingBy: lattice.side)
                return h == rowStart[y] + x - spans[y].x0
            }, "hexals are numbered row by row")
        rowHexalStart = rowStart
        var rng = RandomState(seed: seed ^ SeedSalt.decoderInit)
        var layers: [DecoderLayer] = []
        var c = inChannels
        for width in config.shape.dropLast() where width != 0 {
            layers.append(
                .conv(
                    HexConv(
                        inChannels: c, outChannels: width, kernel: config.kernelSize,
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
        decoderLayers.append(
            .conv(
                HexConv(
                    inChannels: c, outChannels: convOut, kernel: config.kernelSize,
                    constWeight: config.constWeight, rng: &rng)))
        head = decoderLayers
        if case let .conv(first) = (layers + decoderLayers).first {
            firstGrid = .hexagon(lattice, taps: first.taps)
        } else {
            firstGrid = nil
        }
        dropoutRNG = RandomState(seed: seed ^ SeedSalt.dropout)
    }

    private var layers: [DecoderLayer] { base + head }

    /// Bytes of the buffers the last forward and backward filled (maps, masks, kept spectra,
    /// gradients): each is written once and read once per training iteration, and together
    /// they are far larger than a core's share of L3, so `bench` counts them as memory traffic.
    package var bufferBytes: Int {
        let arrays = activations + dropoutMasks + gradSlots + [normDen, normSlope, gradInputBuffer]
        let spectra = inputSpectra.count + gradSpectra.count
        return (arrays.reduce(0) { $0 + $1.count } + spectra) * MemoryLayout<Float>.stride + reluMask.count
    }

    /// The first layer's FFT kernels when the decoder starts with a convolution: then the
    /// placed input map is kept as spatial lanes (eight images per vector), which they
    /// transform in place (SpectralConv).
    private var spectralInput: SpectralConv? {
        guard case let .conv(conv) = layers.first, let grid = firstGrid else { return nil }
        return SpectralConv(
            inChannels: conv.inChannels, outChannels: conv.outChannels, taps: conv.taps, grid: grid, threads: threads)
    }

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
                    names += [
                        "\(prefix).\(i).weight", "\(prefix).\(i).bias", "\(prefix).\(i).running_mean",
                        "\(prefix).\(i).running_var", "\(prefix).\(i).num_batches_tracked",
                    ]
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
            throw .invalidConfig(
                task: config.task.rawValue, key: name, problem: "unknown decoder state entry or wrong size (\(values.count) values)")
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
    /// them too), except where its input is known to be zero under every tap (reachSpans for
    /// the first one's forward and weight gradient: the bias there costs nothing), the hexals
    /// for the last one's output and dOut, reachSpans for its input gradient, and the hexals
    /// for the first one's input gradient. Padding and the masked taps are not counted.
    package func convolutionFlops(images: Int) -> Double {
        let map = side * side, hex = lattice.count, all = layers
        let reach = reachSpans.reduce(0) { $0 + max(0, $1.x1 - $1.x0 + 1) }
        var total = 0
        for (index, layer) in all.enumerated() {
            guard case let .conv(c) = layer else { continue }
            let macs = c.inChannels * c.outChannels * c.taps.count
            let last = index == all.count - 1
            let out = last ? hex : (index == 0 ? reach : map), input = index == 0 ? hex : (last ? reach : map)
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
        let all = layers, p = side * side
        if activations.count != all.count + 1 {
            activations = Array(repeating: [], count: all.count + 1)
            dropoutMasks = Array(repeating: [], count: all.count)
        }
        dropoutApplied = training
        // A first convolution reads the input itself (SpectralConv); otherwise it is placed on
        // the map first.
        let spectral = spectralInput
        if spectral == nil { placeInput(input) }
        clock.lap("forward_input")
        var channels = inChannels
        for (index, layer) in all.enumerated() {
            if case let .conv(conv) = layer { channels = conv.outChannels }
            var out = Self.take(&activations[index + 1], count: images * channels * p)
            let x = activations[index]
            switch layer {
            case let .conv(conv):
                // The last layer's output is read at the hexals only; earlier ones feed
                // BatchNorm statistics over the whole map. The first one's input is zero off the
                // hexagon, so beyond reachSpans its output is just its bias.
                let last = index == all.count - 1
                if index == 0, let spectral {
                    firstForward(conv, spectral, input, into: &out)
                } else {
                    convForward(conv, x, into: &out, spans: last ? hexSpans : nil)
                }
            case let .batchNorm(bn): batchNormForward(bn, x, into: &out)
            case let .activation(kind): activationForward(kind, x, into: &out)
            case let .dropout(prob):
                if training { dropoutForward(prob, layer: index, x, into: &out) } else { out = x }
            }
            activations[index + 1] = out
            clock.lap("forward_\(layer.phaseName)")
        }
        return readOut(activations[all.count])
    }

    /// The buffer in `slot`, moved out of it (so that writing it neither copies it nor overlaps
    /// an access to the array holding it), resized to `count` zeros when its size differs.
    private static func take(_ slot: inout [Float], count: Int) -> [Float] {
        var buffer: [Float] = []
        swap(&buffer, &slot)
        if buffer.count != count { buffer = [Float](repeating: 0, count: count) }
        return buffer
    }

    /// Rectifies the input and places it on the square map (zeros off the hexagon), in
    /// activations[0], when the first layer is not a convolution. Activations are
    /// channel-major, (channels, images, pixels): BatchNorm statistics are contiguous per
    /// channel. Off-hexagon pixels of the kept buffer are never written, so they stay zero.
    private func placeInput(_ input: UnsafeBufferPointer<Float>) {
        let hexals = lattice.count, p = side * side, N = images, C = inChannels
        var map = Self.take(&activations[0], count: N * C * p)
        // Row by row: a map row's hexals are contiguous in the input too (rowHexalStart).
        let spans = hexSpans, W = side
        map.withUnsafeMutableBufferPointer { xb in
            rowHexalStart.withUnsafeBufferPointer { rb in
                let xp = xb.baseAddress!, rs = rb.baseAddress!, ip = input.baseAddress!
                splitRange(N, threads) { range in
                    for n in range {
                        for c in 0..<C {
                            let src = ip + (n * C + c) * hexals, dst = xp + (c * N + n) * p
                            for (y, r) in spans.enumerated() where r.x0 <= r.x1 {
                                DirectConv.copy(from: src + rs[y], to: dst + y * W + r.x0, count: r.x1 - r.x0 + 1, rectified: true)
                            }
                        }
                    }
                }
            }
        }
        activations[0] = map
    }

    /// Dropout, saving the mask for backward. One generator draw per element in element order,
    /// so the mask sequence is the same for any thread count and across resume. The draw is
    /// compared as an integer: (u >> 40) < ⌈keep · 2²⁴⌉ is exactly uniformFloat() < keep (both
    /// sides are exact), without the int-to-float conversion per element; the generator fills
    /// the mask in its own loop (see `RandomState.bernoulliMask`).
    private func dropoutForward(_ prob: Double, layer index: Int, _ x: [Float], into out: inout [Float]) {
        let keep = Float(1 - prob), scale = 1 / Float(1 - prob)
        let threshold = UInt64((keep * 0x1p24).rounded(.up))
        var mask = Self.take(&dropoutMasks[index], count: x.count)
        mask.withUnsafeMutableBufferPointer { dropoutRNG.bernoulliMask($0, below: threshold, value: scale) }
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in
                mask.withUnsafeBufferPointer { mb in
                    let xp = xb.baseAddress!, op = ob.baseAddress!, mp = mb.baseAddress!
                    for i in 0..<xb.count { op[i] = xp[i] * mp[i] }
                }
            }
        }
        dropoutMasks[index] = mask
    }

    /// The last convolution's output read back at the hexals, divided by (softplus + 1) of the
    /// extra channel with normalize_last; averaged over the hexals with the GAVP head,
    /// (B, T, shape[-1], n_out_features).
    private func readOut(_ x: [Float]) -> [Float] {
        let hexals = lattice.count, p = side * side, N = images
        var out = [Float](repeating: 0, count: images * outChannels * hexals)
        let O = outChannels, normalize = config.normalizeLast
        if normalize { computeNormalizer(x) }
        out.withUnsafeMutableBufferPointer { ob in
            x.withUnsafeBufferPointer { xb in
                pixels.withUnsafeBufferPointer { pb in
                    normDen.withUnsafeBufferPointer { db in
                        let op = ob.baseAddress!, xp = xb.baseAddress!, px = pb.baseAddress!, den = db.baseAddress
                        splitRange(N, threads) { range in
                            for n in range {
                                for c in 0..<O {
                                    let plane = xp + (c * N + n) * p, dst = op + (n * O + c) * hexals
                                    if normalize, let d = den.map({ $0 + n * hexals }) {
                                        for h in 0..<hexals { dst[h] = plane[px[h]] / d[h] }
                                    } else {
                                        for h in 0..<hexals { dst[h] = plane[px[h]] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        guard config.nOutFeatures != nil else { return out }
        return (0..<(images * outChannels)).map { k in
            var s: Float = 0
            for h in 0..<hexals { s += out[k * hexals + h] }
            return s / Float(hexals)
        }
    }

    /// normalize_last's divisor softplus(z) + 1 and its slope σ(z) per (image, hexal), z the
    /// extra channel of the last convolution, eight hexals at a time, once for all channels
    /// and for both the readout and its backward.
    private func computeNormalizer(_ x: [Float]) {
        let hexals = lattice.count, p = side * side, N = images, O = outChannels
        if normDen.count != N * hexals {
            normDen = [Float](repeating: 0, count: N * hexals)
            normSlope = normDen
        }
        normDen.withUnsafeMutableBufferPointer { db in
            normSlope.withUnsafeMutableBufferPointer { sb in
                x.withUnsafeBufferPointer { xb in
                    pixels.withUnsafeBufferPointer { pb in
                        let dp = db.baseAddress!, sp = sb.baseAddress!, xp = xb.baseAddress!, px = pb.baseAddress!
                        splitRange(N, threads) { range in
                            for n in range {
                                let z = xp + (O * N + n) * p, d = dp + n * hexals, s = sp + n * hexals
                                for h in 0..<hexals { d[h] = z[px[h]] }
                                SIMDSoftplus.map(s, d, nil, 0..<hexals) { v, _ in SIMDSoftplus.derivative(v) }
                                SIMDSoftplus.map(d, d, nil, 0..<hexals) { v, _ in SIMDSoftplus.value(v) + 1 }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Seconds per phase of the last forward and backward ("forward_conv", ...), summed over
    /// layers of a kind, for `bench`.
    package private(set) var lastTimings: [String: Double] = [:]

    /// Worker threads for the convolutions (images are split into fixed ranges; results are
    /// bitwise independent of the count).
    package var threads = 1

    private func kernels(_ conv: HexConv) -> DirectConv {
        DirectConv(
            inChannels: conv.inChannels, outChannels: conv.outChannels, taps: conv.taps, side: side,
            pad: conv.kernel / 2, threads: threads)
    }

    /// Only the pixels in `spans` (every pixel when nil) are computed.
    private func convForward(_ conv: HexConv, _ x: [Float], into out: inout [Float], spans: DirectConv.Spans?) {
        let k = kernels(conv)
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in
                k.forward(
                    .maps(xb.baseAddress!), images: images, weights: conv.weight, bias: conv.bias, out: ob.baseAddress!,
                    spans: spans)
            }
        }
    }

    /// 2^l in lane l: a lane mask's bits as one integer sum.
    private static let laneBits = SIMD8<Int32>(1, 2, 4, 8, 16, 32, 64, 128)

    /// The first convolution, by FFT, on the whole map, reading the input (B, T, C, hexals)
    /// eight images at a time, rectified, at the grid's input hexals. Its spectra are kept for
    /// the backward, and so is the rectifier's mask: one byte per (group of eight images,
    /// channel, hexal), bit l for image 8·group + l.
    private func firstForward(_ conv: HexConv, _ k: SpectralConv, _ input: UnsafeBufferPointer<Float>, into out: inout [Float]) {
        let N = images, C = inChannels, hexals = lattice.count, lanes = SpectralConv.lanes
        let count = k.spectrumCount(images: N, channels: C)
        spectraKept = training
        if training { inputSpectra.resize(count) }
        let maskCount = SpectralConv.groups(N) * C * hexals
        if reluMask.count != maskCount { reluMask = [UInt8](repeating: 0, count: maskCount) }
        let laneBits = Self.laneBits
        out.withUnsafeMutableBufferPointer { ob in
            inputSpectra.withUnsafeMutableBufferPointer { sb in
                reluMask.withUnsafeMutableBufferPointer { mb in
                    let ip = input.baseAddress!, mp = mb.baseAddress!
                    k.forward(
                        stage: { g, staged in
                            // Hexal by hexal, so that each image's cache lines are read in order.
                            let n0 = g * lanes, used = min(lanes, N - n0)
                            for c in 0..<C {
                                let src = ip + (n0 * C + c) * hexals, mask = mp + (g * C + c) * hexals
                                let dst = staged + c * hexals
                                for h in 0..<hexals {
                                    let v = SpectralConv.gather(src + h, stride: C * hexals, count: used)
                                    let off = .!(v .> 0)
                                    dst[h] = v.replacing(with: 0, where: off)
                                    // Branch-free: a branch per lane on the sign is a coin flip.
                                    mask[h] = UInt8(truncatingIfNeeded: laneBits.replacing(with: 0, where: off).wrappedSum())
                                }
                            }
                        }, images: N, weights: conv.weight, bias: conv.bias, spectra: training ? sb.baseAddress : nil,
                        out: ob.baseAddress!,
                        scratch: spectralScratch)
                }
            }
        }
    }

    /// The activation, softplus (the default) eight lanes at a time.
    private func activationForward(_ kind: DecoderConfig.ActivationKind, _ x: [Float], into out: inout [Float]) {
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in
                let xp = xb.baseAddress!, op = ob.baseAddress!
                if kind == .softplus {
                    splitRange(xb.count, threads) { range in SIMDSoftplus.map(op, xp, nil, range) { v, _ in SIMDSoftplus.value(v) } }
                    return
                }
                let f = kind.function
                splitRange(xb.count, threads) { range in for i in range { op[i] = f.value(xp[i]) } }
            }
        }
    }

    /// g ← g · f′(input), softplus eight lanes at a time.
    private func activationBackward(_ kind: DecoderConfig.ActivationKind, _ input: [Float], _ g: inout [Float]) {
        g.withUnsafeMutableBufferPointer { gb in
            input.withUnsafeBufferPointer { ib in
                let gp = gb.baseAddress!, ip = ib.baseAddress!
                if kind == .softplus {
                    splitRange(gb.count, threads) { range in
                        SIMDSoftplus.map(gp, gp, ip, range) { v, z in v * SIMDSoftplus.derivative(z) }
                    }
                    return
                }
                let f = kind.function
                splitRange(gb.count, threads) { range in for i in range { gp[i] *= f.derivative(ip[i]) } }
            }
        }
    }

    private func batchNormForward(_ bn: BatchNorm, _ x: [Float], into out: inout [Float]) {
        let p = side * side, C = bn.channels
        let count = images * p
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in
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
                        bn.runningVar[c] =
                            (1 - bn.momentum) * bn.runningVar[c]
                            + bn.momentum * Float(variance * Double(count) / Double(max(count - 1, 1)))
                    }
                    bn.batchesTracked += 1
                } else {
                    bn.mean = bn.runningMean
                    bn.invStd = bn.runningVar.map { 1 / ($0 + bn.eps).squareRoot() }
                }
                for c in 0..<C {
                    let m = bn.mean[c], s = bn.invStd[c] * bn.weight[c], b = bn.bias[c]
                    let src = xb.baseAddress! + c * count, dst = ob.baseAddress! + c * count
                    for i in 0..<count { dst[i] = (src[i] - m) * s + b }
                }
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
        let all = layers, p = side * side, N = images
        if gradSlots.count != all.count + 1 { gradSlots = Array(repeating: [], count: all.count + 1) }
        // g lives in gradSlots[slot] between calls.
        var slot = all.count
        var g = Self.take(&gradSlots[slot], count: N * convOut * p)
        readOutBackward(gradOutput, into: &g)
        clock.lap("backward_readout")
        if gradInputBuffer.count != images * inChannels * lattice.count {
            gradInputBuffer = [Float](repeating: 0, count: images * inChannels * lattice.count)
        }
        let spectral = spectralInput
        for (index, layer) in all.enumerated().reversed() {
            let input = activations[index], last = index == all.count - 1
            switch layer {
            case let .conv(conv) where index == 0:
                // dOut of the last layer is zero off the hexagon; the first one's input is. A
                // first convolution always runs by FFT (spectralInput).
                if let spectral { convBackwardToInput(conv, spectral, g) }
            case let .conv(conv):
                var gradIn = Self.take(&gradSlots[index], count: N * conv.inChannels * p)
                convBackward(
                    conv, input, g, into: &gradIn, outputSpans: last ? hexSpans : nil,
                    inputSpans: last ? reachSpans : nil, clock: &clock)
                gradSlots[slot] = g
                (g, slot) = (gradIn, index)
            case let .batchNorm(bn): batchNormBackward(bn, input, &g)
            case let .activation(kind): activationBackward(kind, input, &g)
            case .dropout: if dropoutApplied { multiply(&g, by: dropoutMasks[index]) }
            }
            clock.lap("backward_\(layer.phaseName)")
        }
        if spectral == nil { gatherInputGradient(g) }
        gradSlots[slot] = g
        return gradInputBuffer
    }

    /// ∂L/∂(last convolution's output) on the map, written at the hexals only (the buffer's
    /// other pixels stay zero): through the GAVP head's average and normalize_last's division
    /// by (softplus + 1) of the extra channel.
    private func readOutBackward(_ gradOutput: UnsafeBufferPointer<Float>, into g: inout [Float]) {
        let hexals = lattice.count, p = side * side
        var expanded: [Float] = []
        if config.nOutFeatures != nil {
            expanded = [Float](repeating: 0, count: images * outChannels * hexals)
            for k in 0..<(images * outChannels) {
                let v = gradOutput[k] / Float(hexals)
                for h in 0..<hexals { expanded[k * hexals + h] = v }
            }
        }
        let x = activations[activations.count - 1], N = images, O = outChannels, normalize = config.normalizeLast
        g.withUnsafeMutableBufferPointer { gb in
            x.withUnsafeBufferPointer { xb in
                expanded.withUnsafeBufferPointer { eb in
                    pixels.withUnsafeBufferPointer { pb in
                        normDen.withUnsafeBufferPointer { db in
                            normSlope.withUnsafeBufferPointer { sb in
                                let gp = gb.baseAddress!, xp = xb.baseAddress!, px = pb.baseAddress!
                                let hp = config.nOutFeatures != nil ? eb.baseAddress! : gradOutput.baseAddress!
                                splitRange(N, threads) { range in
                                    for n in range {
                                        guard normalize, let dens = db.baseAddress, let slopes = sb.baseAddress else {
                                            for c in 0..<O {
                                                let plane = (c * N + n) * p, src = hp + (n * O + c) * hexals
                                                for h in 0..<hexals { gp[plane + px[h]] = src[h] }
                                            }
                                            continue
                                        }
                                        // y_c = x_c / den: ∂/∂x_c = 1 / den, ∂/∂z = −Σ_c dy_c · x_c / den² · σ(z).
                                        let norm = (O * N + n) * p, den = dens + n * hexals, slope = slopes + n * hexals
                                        for h in 0..<hexals {
                                            let q = px[h], d = den[h]
                                            var acc: Float = 0
                                            for c in 0..<O {
                                                let plane = (c * N + n) * p, dy = hp[(n * O + c) * hexals + h]
                                                gp[plane + q] = dy / d
                                                acc += dy * xp[plane + q]
                                            }
                                            gp[norm + q] = -acc / (d * d) * slope[h]
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private func multiply(_ g: inout [Float], by mask: [Float]) {
        g.withUnsafeMutableBufferPointer { gb in
            mask.withUnsafeBufferPointer { mb in
                let gp = gb.baseAddress!, mp = mb.baseAddress!
                splitRange(gb.count, threads) { range in for i in range { gp[i] *= mp[i] } }
            }
        }
    }

    /// Back to (B, T, inChannels, hexals) in `gradInputBuffer`, through the input ReLU, when
    /// the first layer is not a convolution (which writes there itself). The ReLU's derivative
    /// is read off the rectified input map (activations[0]). Every element is written, so the
    /// buffer is reused between calls (the caller's copy from the last call is gone by then,
    /// so this writes in place).
    private func gatherInputGradient(_ g: [Float]) {
        let hexals = lattice.count, p = side * side, N = images, C = inChannels
        gradInputBuffer.withUnsafeMutableBufferPointer { ob in
            g.withUnsafeBufferPointer { gb in
                activations[0].withUnsafeBufferPointer { rb in
                    pixels.withUnsafeBufferPointer { pb in
                        let op = ob.baseAddress!, gp = gb.baseAddress!, rp = rb.baseAddress!, px = pb.baseAddress!
                        splitRange(N, threads) { range in
                            for n in range {
                                for c in 0..<C {
                                    let src = gp + (c * N + n) * p, relu = rp + (c * N + n) * p, dst = op + (n * C + c) * hexals
                                    for h in 0..<hexals { let q = px[h]; dst[h] = relu[q] > 0 ? src[q] : 0 }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private func convBiasGradient(_ conv: HexConv, _ g: [Float]) {
        let n = images * side * side
        conv.gradBias = g.withUnsafeBufferPointer { gb in
            (0..<conv.outChannels).map { c in Float(preciseSum(UnsafeBufferPointer(rebasing: gb[(c * n)..<((c + 1) * n)]))) }
        }
    }

    /// Weight and bias gradients, and the input gradient into `gradIn`: every pixel is written
    /// (zeros off `inputSpans`).
    private func convBackward(
        _ conv: HexConv, _ x: [Float], _ g: [Float], into gradIn: inout [Float],
        outputSpans: DirectConv.Spans?, inputSpans: DirectConv.Spans?, clock: inout PhaseClock
    ) {
        let k = kernels(conv)
        convBiasGradient(conv, g)
        x.withUnsafeBufferPointer { xb in
            g.withUnsafeBufferPointer { gb in
                conv.gradWeight = k.backwardWeights(
                    .maps(xb.baseAddress!), gb.baseAddress!, images: images, spans: outputSpans,
                    perImage: &conv.weightScratch)
                clock.lap("backward_conv_weights")
                gradIn.withUnsafeMutableBufferPointer { ib in
                    k.backwardInput(
                        gb.baseAddress!, images: images, weights: conv.weight, into: ib.baseAddress!,
                        spans: inputSpans, accumulate: false)
                }
            }
        }
    }

    /// The first convolution's backward, by FFT: its input gradient goes straight to the
    /// hexals of `gradInputBuffer` (B, T, inChannels, hexals), through the input's rectifier
    /// (the mask saved by the forward), without a map-shaped buffer.
    private func convBackwardToInput(_ conv: HexConv, _ k: SpectralConv, _ g: [Float]) {
        let N = images, C = inChannels, hexals = lattice.count, lanes = SpectralConv.lanes
        precondition(spectraKept, "the decoder's backward needs a forward in training mode")
        convBiasGradient(conv, g)
        let count = k.spectrumCount(images: N, channels: conv.outChannels)
        gradSpectra.resize(count)
        SpectralConv.bitLanes.withUnsafeBufferPointer { bits in
            g.withUnsafeBufferPointer { gb in
                inputSpectra.withUnsafeBufferPointer { sb in
                    gradSpectra.withUnsafeMutableBufferPointer { db in
                        reluMask.withUnsafeBufferPointer { mb in
                            gradInputBuffer.withUnsafeMutableBufferPointer { ob in
                                let op = ob.baseAddress!, mp = mb.baseAddress!
                                conv.gradWeight = k.backward(
                                    gb.baseAddress!, images: N, spectra: sb.baseAddress!,
                                    gradientSpectra: db.baseAddress!, scratch: spectralScratch
                                ) { grp, staged in
                                    // Lanes off the rectifier's mask are zero, then each lane goes to its
                                    // image, hexal by hexal so that each image's stores are in order.
                                    let n0 = grp * lanes, used = min(lanes, N - n0)
                                    for c in 0..<C {
                                        let mask = mp + (grp * C + c) * hexals, dst = op + (n0 * C + c) * hexals
                                        let src = staged + c * hexals
                                        for h in 0..<hexals {
                                            SpectralConv.scatter(src[h] * bits[Int(mask[h])], dst + h, stride: C * hexals, count: used)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private func batchNormBackward(_ bn: BatchNorm, _ x: [Float], _ g: inout [Float]) {
        let p = side * side, C = bn.channels
        let count = images * p
        x.withUnsafeBufferPointer { xb in
            g.withUnsafeMutableBufferPointer { gb in
                for c in 0..<C {
                    let m = bn.mean[c], inv = bn.invStd[c]
                    let xs = xb.baseAddress! + c * count, gs = gb.baseAddress! + c * count
                    // Σ g and Σ g · x̂ in double, four lanes each (independent addition chains).
                    var sumG = SIMD4<Double>(), sumGX = SIMD4<Double>()
                    var j = 0
                    while j + 4 <= count {
                        let gv = SIMD4<Double>(Double(gs[j]), Double(gs[j + 1]), Double(gs[j + 2]), Double(gs[j + 3]))
                        let xh = SIMD4<Double>(
                            Double((xs[j] - m) * inv), Double((xs[j + 1] - m) * inv),
                            Double((xs[j + 2] - m) * inv), Double((xs[j + 3] - m) * inv))
                        sumG += gv
                        sumGX += gv * xh
                        j += 4
                    }
                    for t in j..<count { let gj = Double(gs[t]); sumG[0] += gj; sumGX[0] += gj * Double((xs[t] - m) * inv) }
                    let totalG = sumG.sum(), totalGX = sumGX.sum()
                    bn.gradBias[c] = Float(totalG)
                    bn.gradWeight[c] = Float(totalGX)
                    let scale = bn.weight[c] * inv
                    if training {
                        let meanG = Float(totalG / Double(count)), meanGX = Float(totalGX / Double(count))
                        for j in 0..<count { let xh = (xs[j] - m) * inv; gs[j] = scale * (gs[j] - meanG - xh * meanGX) }
                    } else {
                        for j in 0..<count { gs[j] *= scale }
                    }
                }
            }
        }
    }
}
