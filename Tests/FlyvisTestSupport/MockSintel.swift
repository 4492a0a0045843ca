import FlyvisData
import Foundation

/// Folders in MPI-Sintel's layout (`training/final/<scene>/frame_NNNN.png`, grey 8-bit, and
/// `training/flow/<scene>/frame_NNNN.flo`), written with our own PNG and .flo writers: the
/// one writer every test that needs a Sintel copy uses.
package enum MockSintel {
    /// One scene: `frames` images of `height` × `width` pixels and the flow between each pair
    /// of consecutive frames (`flow.count` is usually `frames.count − 1`).
    package static func writeScene(
        _ scene: String, at root: URL, frames: [[UInt8]], flow: [(u: [Float], v: [Float])],
        height: Int, width: Int
    ) throws {
        let final = root.appendingPathComponent("training/final/\(scene)")
        let flowDir = root.appendingPathComponent("training/flow/\(scene)")
        try FileManager.default.createDirectory(at: final, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: flowDir, withIntermediateDirectories: true)
        for (k, pixels) in frames.enumerated() {
            try PNGFile.writeGray(
                final.appendingPathComponent(String(format: "frame_%04d.png", k + 1)).path,
                pixels: pixels, height: height, width: width)
        }
        for (k, f) in flow.enumerated() {
            try FloFile.write(
                flowDir.appendingPathComponent(String(format: "frame_%04d.flo", k + 1)).path,
                u: f.u, v: f.v, height: height, width: width)
        }
    }

    /// `scenes` scenes named `mock_1`, … at Sintel's frame size: sinusoidal textures that
    /// translate by a constant, scene-specific flow.
    package static func writeMoving(at root: URL, scenes: Int = 4, frames: Int = 12) throws {
        let (h, w) = (436, 1024)
        for s in 0..<scenes {
            let (du, dv) = (Double(s + 1) * 1.5, Double(s) - 1.5)
            let images = (0..<frames).map { k in
                var pixels = [UInt8](repeating: 0, count: h * w)
                for y in 0..<h {
                    for x in 0..<w {
                        let xx = Double(x) - du * Double(k), yy = Double(y) - dv * Double(k)
                        let v = 128 + 60 * sin(xx / (23 + Double(s))) * cos(yy / 31) + 30 * sin((xx + yy) / 11)
                        pixels[y * w + x] = UInt8(max(0, min(255, v.rounded())))
                    }
                }
                return pixels
            }
            let flow = (0..<(frames - 1)).map { _ in
                (u: [Float](repeating: Float(du), count: h * w), v: [Float](repeating: Float(dv), count: h * w))
            }
            try writeScene(String(format: "mock_%d", s + 1), at: root, frames: images, flow: flow, height: h, width: w)
        }
    }
}
