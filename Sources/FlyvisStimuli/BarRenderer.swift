import Foundation

/// flyvis's rendering of a bar on the eye (`HexEye.render_bar`): the bar drawn on the 775 × 775
/// monitor (`render_bars_cartesian`), rotated to its angle (`rotate_image`), and each hexal the
/// mean of its pixels.
///
/// The rotation is flyvis's: the picture is edge-padded to 1095 × 1095, converted to 8 bits
/// (`uint8(255 · value)`, truncated, so grey becomes 127/255), rotated by PIL — exact transposes
/// at 90°, 180° and 270°, otherwise PIL's bilinear affine map in double precision with a
/// truncating 8-bit result — and cropped back to 775 × 775. Angles that are multiples of 360°
/// skip all of this (no 8-bit step). Only the pixels inside hexals are computed: for each we
/// keep where it samples the unrotated picture, once per angle, so each offset costs one pass
/// over those pixels.
///
/// Past the monitor (extents above 15) the picture continues as flyvis's edge padding
/// continues it, and the rotation samples it there instead of PIL's black fill, which never
/// reaches a hexal at extents up to 15.
struct BarRenderer {
    /// The bar on the unrotated monitor: rows and columns (each a half-open range in
    /// 0...775) where the picture shows the bar; elsewhere the background.
    struct Bar: Equatable {
        var rows: Range<Int>
        var columns: Range<Int>
    }

    /// Where one hexal pixel samples the unrotated monitor: the bilinear corners' rows and
    /// columns (clamped to the monitor, which is flyvis's edge padding) and the weights.
    struct Sample {
        var row0: Int16, row1: Int16, column0: Int16, column1: Int16
        var dx: Double, dy: Double
    }

    static let side = HexEye.monitorSide
    /// rotate_image pads to the diagonal: int(√2 · 775) = 1096, (1096 − 775) // 2 = 160 per side.
    static let pad = (Int((2.0 * Double(side * side)).squareRoot()) - side) / 2
    static let padded = side + 2 * pad

    let eye: HexEye
    /// The angle the sample table was made for.
    private(set) var angle: Double?
    /// Whether the angle goes through the 8-bit rotation.
    private(set) var quantized = false
    private var samples: [Sample]

    init(eye: HexEye) {
        self.eye = eye
        samples = [Sample](
            repeating: Sample(row0: 0, row1: 0, column0: 0, column1: 0, dx: 0, dy: 0),
            count: eye.pixelCount)
    }

    /// `render_bars_cartesian` for one bar: rows `int(v − h/2)` to `int(v + h/2)` and columns
    /// `max(int(x − w/2), 0)` to `int(x − w/2) + w`, both inclusive, as Python slices of the
    /// 775-pixel monitor (negative ends count from the far side, and ends clip).
    static func bar(widthPixels w: Int, heightPixels h: Int, horizontalPixel x: Int, verticalPixel v: Int) -> Bar {
        let left = Int((Double(x) - Double(w) / 2).rounded(.towardZero))
        let rows = pythonSlice(
            Int((Double(v) - Double(h) / 2).rounded(.towardZero)),
            Int((Double(v) + Double(h) / 2).rounded(.towardZero)) + 1)
        let columns = pythonSlice(max(left, 0), left + w + 1)
        return Bar(rows: rows, columns: columns)
    }

    /// The indices `a[start:stop]` selects from the monitor's 775 rows or columns.
    static func pythonSlice(_ start: Int, _ stop: Int) -> Range<Int> {
        func normalized(_ i: Int) -> Int { i < 0 ? max(i + side, 0) : min(i, side) }
        let a = normalized(start), b = normalized(stop)
        return a..<max(a, b)
    }

    /// Python's float `%`: the result takes the divisor's sign.
    static func pythonModulo(_ a: Double, _ m: Double) -> Double {
        var r = fmod(a, m)
        if r != 0, (r < 0) != (m < 0) { r += m }
        return r == 0 ? 0 : r
    }

    /// Python's `round(x, 15)`: the nearest double to x's correctly rounded 15-decimal form.
    static func round15(_ x: Double) -> Double {
        Double(String(format: "%.15f", x)) ?? x
    }

    /// PIL's inverse affine matrix for `Image.rotate(angle)` about the padded image's centre.
    static func rotationMatrix(angle: Double) -> [Double] {
        let radians = -(angle * (Double.pi / 180))
        var m = [
            round15(cos(radians)), round15(sin(radians)), 0.0,
            round15(-sin(radians)), round15(cos(radians)), 0.0,
        ]
        let center = Double(padded) / 2
        let (x, y) = (-center - 0, -center - 0)
        m[2] = m[0] * x + m[1] * y + m[2]
        m[5] = m[3] * x + m[4] * y + m[5]
        m[2] += center
        m[5] += center
        return m
    }

    /// Prepares the sample table for `angle` (degrees, counter-clockwise as PIL rotates).
    mutating func prepare(angle: Double) {
        if self.angle == angle { return }
        self.angle = angle
        let turn = Self.pythonModulo(angle, 360)
        quantized = turn != 0
        let n = Self.padded, pad = Self.pad, last = Self.side - 1
        // A padded-image row or column → the monitor's, clamped as edge padding repeats it.
        @inline(__always) func monitor(_ r: Int) -> Int16 { Int16(min(max(r - pad, 0), last)) }
        let matrix = Self.rotationMatrix(angle: turn)
        samples.withUnsafeMutableBufferPointer { table in
            for p in 0..<eye.pixelCount {
                // Monitor pixel → the padded image's row Y and column X.
                let y = Int(eye.pixelRow[p]) + pad, x = Int(eye.pixelColumn[p]) + pad
                switch turn {
                case 0:
                    let r = monitor(y), c = monitor(x)
                    table[p] = Sample(row0: r, row1: r, column0: c, column1: c, dx: 0, dy: 0)
                case 90:  // PIL ROTATE_90: out[Y][X] = in[X][N−1−Y]
                    let r = monitor(x), c = monitor(n - 1 - y)
                    table[p] = Sample(row0: r, row1: r, column0: c, column1: c, dx: 0, dy: 0)
                case 180:  // out[Y][X] = in[N−1−Y][N−1−X]
                    let r = monitor(n - 1 - y), c = monitor(n - 1 - x)
                    table[p] = Sample(row0: r, row1: r, column0: c, column1: c, dx: 0, dy: 0)
                case 270:  // out[Y][X] = in[N−1−X][Y]
                    let r = monitor(n - 1 - x), c = monitor(y)
                    table[p] = Sample(row0: r, row1: r, column0: c, column1: c, dx: 0, dy: 0)
                default:
                    // PIL's affine_transform and bilinear_filter8 (Geometry.c), term by term.
                    let xc = Double(x) + 0.5, yc = Double(y) + 0.5
                    let xin = matrix[0] * xc + matrix[1] * yc + matrix[2] - 0.5
                    let yin = matrix[3] * xc + matrix[4] * yc + matrix[5] - 0.5
                    let fx = xin.rounded(.down), fy = yin.rounded(.down)
                    let ix = Int(fx), iy = Int(fy)
                    table[p] = Sample(
                        row0: monitor(iy), row1: monitor(iy + 1),
                        column0: monitor(ix), column1: monitor(ix + 1),
                        dx: xin - fx, dy: yin - fy)
                }
            }
        }
    }

    /// True when every hexal pixel's rotated source lies inside PIL's padded image, i.e. where
    /// flyvis's black fill cannot reach a hexal (always, at extents up to 15).
    func sourcesInsidePaddedImage() -> Bool {
        guard let angle else { return true }
        let turn = Self.pythonModulo(angle, 360)
        if [0, 90, 180, 270].contains(turn) { return true }
        let m = Self.rotationMatrix(angle: turn), n = Double(Self.padded)
        for p in 0..<eye.pixelCount {
            let xc = Double(Int(eye.pixelColumn[p]) + Self.pad) + 0.5
            let yc = Double(Int(eye.pixelRow[p]) + Self.pad) + 0.5
            let xin = m[0] * xc + m[1] * yc + m[2], yin = m[3] * xc + m[4] * yc + m[5]
            if xin < 0 || xin >= n || yin < 0 || yin >= n { return false }
        }
        return true
    }

    /// One frame: the mean of each hexal's pixels with `bar` drawn at `intensity` on
    /// `background`, for the prepared angle.
    func render(bar: Bar, intensity: Double, background: Double, into out: UnsafeMutableBufferPointer<Float>) {
        let r0 = bar.rows.lowerBound, rows = UInt(bar.rows.count)
        let c0 = bar.columns.lowerBound, columns = UInt(bar.columns.count)
        @inline(__always) func onBar(_ r: Int16, _ c: Int16) -> Bool {
            UInt(bitPattern: Int(r) - r0) < rows && UInt(bitPattern: Int(c) - c0) < columns
        }
        samples.withUnsafeBufferPointer { table in
            if !quantized {
                for h in 0..<eye.lattice.count {
                    let range = eye.pixelStart[h]..<eye.pixelStart[h + 1]
                    var on = 0
                    for p in range where onBar(table[p].row0, table[p].column0) { on += 1 }
                    let sum = Double(on) * intensity + Double(range.count - on) * background
                    out[h] = Float(sum / Double(range.count))
                }
                return
            }
            // numpy's astype(uint8) truncates.
            let barLevel = Int(255 * intensity), backgroundLevel = Int(255 * background)
            for h in 0..<eye.lattice.count {
                let range = eye.pixelStart[h]..<eye.pixelStart[h + 1]
                var sum = 0
                for p in range {
                    let s = table[p]
                    let a = onBar(s.row0, s.column0) ? barLevel : backgroundLevel
                    let b = onBar(s.row0, s.column1) ? barLevel : backgroundLevel
                    let c = onBar(s.row1, s.column0) ? barLevel : backgroundLevel
                    let d = onBar(s.row1, s.column1) ? barLevel : backgroundLevel
                    let v1 = Double(a) + Double(b - a) * s.dx
                    let v2 = Double(c) + Double(d - c) * s.dx
                    let v = v1 + (v2 - v1) * s.dy
                    sum += Int(max(v, 0))  // (UINT8)v: truncation
                }
                out[h] = Float(Double(sum) / 255 / Double(range.count))
            }
        }
    }
}
