import FlyvisHex
import Foundation

/// flyvis's BoxEye: photoreceptor centres on a stretched hexagonal grid, a kernel×kernel box
/// filter (mean, sum or median), and sampling at the centres. The box sums come from a
/// summed-area table, so any kernel size costs the same.
package struct BoxEye: Sendable {
    package enum Filter: String, Sendable { case mean, sum, median }

    package let extent: Int
    package let kernelSize: Int
    /// (row, column) offsets of each receptor from the frame centre, in hexal order.
    package let centers: [(y: Int, x: Int)]
    /// Smallest frame (height, width) that contains every centre.
    package let minFrameSize: (height: Int, width: Int)

    package init(extent: Int = 15, kernelSize: Int = 13) {
        self.extent = extent
        self.kernelSize = kernelSize
        let lattice = HexLattice(extent: extent)
        let d = Double(kernelSize)
        centers = (0..<lattice.count).map { i in
            let u = Double(lattice.u[i]), v = Double(lattice.v[i])
            // torch.tensor(float, dtype=long) truncates toward zero.
            return (Int((d * (u + v / 2)).rounded(.towardZero)), Int(d * v))
        }
        let ys = centers.map(\.y), xs = centers.map(\.x)
        minFrameSize = (ys.max()! - ys.min()! + 1, xs.max()! - xs.min()! + 1)
    }

    package var hexals: Int { centers.count }

    /// Filters one frame (height × width, row-major) and samples it at the receptors.
    /// Frames smaller than `minFrameSize` in either dimension are first resized to exactly
    /// `minFrameSize` with antialiased bilinear interpolation, as the reference does.
    package func render(_ frame: [Float], height: Int, width: Int, filter: Filter) -> [Float] {
        var image = frame, h = height, w = width
        if minFrameSize.height > h || minFrameSize.width > w {
            image = resizeBilinearAntialiased(
                image, height: h, width: w,
                toHeight: minFrameSize.height, toWidth: minFrameSize.width)
            h = minFrameSize.height
            w = minFrameSize.width
        }
        let cy = h / 2, cx = w / 2
        let k = kernelSize
        if filter == .median {
            return centers.map { c in median(image, h, w, row: cy + c.y, col: cx + c.x, k: k) }
        }
        let sat = SummedAreaTable(image, height: h, width: w)
        // Zero padding of ceil((k−1)/2) before and floor((k−1)/2) after, as the reference.
        let before = (k - 1 + 1) / 2, after = (k - 1) / 2
        let scale: Float = filter == .mean ? 1 / Float(k * k) : 1
        return centers.map { c in
            let r = cy + c.y, q = cx + c.x
            // The output pixel (r, q) of a padded "valid" convolution covers rows r−before...r+after.
            let s = sat.sum(rows: (r - before)...(r + after), cols: (q - before)...(q + after))
            return filter == .mean ? Float(s) * scale : Float(s)
        }
    }

    /// Median of the k×k window with reflect padding (k odd: the middle of k² values).
    private func median(_ image: [Float], _ h: Int, _ w: Int, row: Int, col: Int, k: Int) -> Float {
        let half = k / 2
        func reflect(_ i: Int, _ n: Int) -> Int {
            guard n > 1 else { return 0 }
            var j = i
            while j < 0 || j >= n { j = j < 0 ? -j : 2 * (n - 1) - j }
            return j
        }
        var values: [Float] = []
        values.reserveCapacity(k * k)
        for dy in -half...(k - 1 - half) {
            for dx in -half...(k - 1 - half) {
                values.append(image[reflect(row + dy, h) * w + reflect(col + dx, w)])
            }
        }
        values.sort()
        return values[(values.count - 1) / 2]
    }
}

/// Antialiased bilinear resize with half-pixel centres (torchvision `resize(antialias=True)`,
/// i.e. PIL's triangle filter whose support widens when downscaling), separable: width, then
/// height.
func resizeBilinearAntialiased(_ image: [Float], height: Int, width: Int, toHeight: Int, toWidth: Int) -> [Float] {
    func weights(_ inSize: Int, _ outSize: Int) -> [(start: Int, w: [Float])] {
        let scale = Double(inSize) / Double(outSize)
        let support = scale >= 1 ? scale : 1.0
        let invScale = scale >= 1 ? 1 / scale : 1.0
        return (0..<outSize).map { i in
            let center = scale * (Double(i) + 0.5)
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = min(Int(center + support + 0.5), inSize)
            var w = (xmin..<xmax).map { j -> Double in
                let x = (Double(j) - center + 0.5) * invScale
                return max(0, 1 - abs(x))
            }
            let total = w.reduce(0, +)
            if total > 0 { w = w.map { $0 / total } }
            return (xmin, w.map { Float($0) })
        }
    }
    let wx = weights(width, toWidth), wy = weights(height, toHeight)
    var tmp = [Float](repeating: 0, count: height * toWidth)
    for y in 0..<height {
        for (x, p) in wx.enumerated() {
            var s: Float = 0
            for (k, w) in p.w.enumerated() { s += w * image[y * width + p.start + k] }
            tmp[y * toWidth + x] = s
        }
    }
    var out = [Float](repeating: 0, count: toHeight * toWidth)
    for (y, p) in wy.enumerated() {
        for x in 0..<toWidth {
            var s: Float = 0
            for (k, w) in p.w.enumerated() { s += w * tmp[(p.start + k) * toWidth + x] }
            out[y * toWidth + x] = s
        }
    }
    return out
}
