import CLibPNG
import Foundation

/// Sintel `.dpt` depth: tag, width, height, then float32 depth per pixel.
package enum DepthFile {
    package static func read(_ path: String) throws(DataError) -> (values: [Float], height: Int, width: Int) {
        guard let data = FileManager.default.contents(atPath: path), data.count >= 12 else {
            throw .unreadable(path: path, reason: "missing or truncated")
        }
        let w = Int(data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: Int32.self) })
        let h = Int(data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: Int32.self) })
        guard w > 0, h > 0, w <= (data.count - 12) / 4 / h else {
            throw .unreadable(path: path, reason: "truncated: \(data.count) bytes for a \(w)×\(h) depth map")
        }
        let values = data.withUnsafeBytes { raw in
            (0..<(w * h)).map { raw.loadUnaligned(fromByteOffset: 12 + 4 * $0, as: Float.self) }
        }
        return (values, h, w)
    }
}
