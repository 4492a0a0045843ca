import FlyvisHex
import FlyvisRandom
import Foundation

/// One textured layer moving by x_t = c + v·t + s0·(1+e)^t · R(θ0 + ω·t) · (p − p_c).
struct MovingLayer {
    var texture: [Float]  // textureSize², values in [0, 1]
    var textureSize: Int
    var center: (Double, Double)  // image position of the texture centre at t = 0
    var velocity: (Double, Double)
    var theta0: Double, omega: Double
    var scale0: Double, expansion: Double
    /// Ellipse radii in texture pixels (nil: the layer covers everything).
    var radii: (Double, Double)?

    func transform(_ t: Double) -> (cx: Double, cy: Double, cosT: Double, sinT: Double, s: Double) {
        let th = theta0 + omega * t
        return (center.0 + velocity.0 * t, center.1 + velocity.1 * t, cos(th), sin(th), scale0 * pow(1 + expansion, t))
    }

    /// Texture coordinates (relative to the texture centre) of image point (x, y) at time t.
    @inline(__always)
    func inverse(_ x: Double, _ y: Double, _ m: (cx: Double, cy: Double, cosT: Double, sinT: Double, s: Double)) -> (Double, Double) {
        let dx = (x - m.cx) / m.s, dy = (y - m.cy) / m.s
        return (m.cosT * dx + m.sinT * dy, -m.sinT * dx + m.cosT * dy)
    }

    @inline(__always)
    func forward(_ p: (Double, Double), _ m: (cx: Double, cy: Double, cosT: Double, sinT: Double, s: Double)) -> (Double, Double) {
        (m.cx + m.s * (m.cosT * p.0 - m.sinT * p.1), m.cy + m.s * (m.sinT * p.0 + m.cosT * p.1))
    }

    @inline(__always)
    func covers(_ p: (Double, Double)) -> Bool {
        guard let r = radii else { return true }
        let a = p.0 / r.0, b = p.1 / r.1
        return a * a + b * b <= 1
    }

    /// Bilinear texture lookup with wrap-around.
    @inline(__always)
    func sample(_ p: (Double, Double)) -> Float {
        let n = textureSize
        let x = p.0 + Double(n / 2), y = p.1 + Double(n / 2)
        let fx = x.rounded(.down), fy = y.rounded(.down)
        let ax = Float(x - fx), ay = Float(y - fy)
        let x0 = ((Int(fx) % n) + n) % n, y0 = ((Int(fy) % n) + n) % n
        let x1 = (x0 + 1) % n, y1 = (y0 + 1) % n
        let a = texture[y0 * n + x0], b = texture[y0 * n + x1], c = texture[y1 * n + x0], d = texture[y1 * n + x1]
        return (a * (1 - ax) + b * ax) * (1 - ay) + (c * (1 - ax) + d * ax) * ay
    }
}
