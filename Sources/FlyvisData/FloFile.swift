import CLibPNG
import Foundation

/// Middlebury `.flo` optical flow: tag 202021.25, width, height, then (u, v) per pixel.
package enum FloFile {
    package static let magic: Float = 202021.25

    package static func read(_ path: String) throws(DataError) -> (u: [Float], v: [Float], height: Int, width: Int) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")
        }
        guard data.count >= 12 else { throw .unreadable(path: path, reason: "truncated header (\(data.count) bytes)") }
        let tag = data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: Float.self) }
        guard tag == magic else { throw .badFlowMagic(path: path, found: tag) }
        let w = Int(data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: Int32.self) })
        let h = Int(data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: Int32.self) })
        // Width and height come from the file: compare without overflow against its real size.
        guard w > 0, h > 0, w <= (data.count - 12) / 8 / h else {
            throw .unreadable(path: path, reason: "truncated: \(data.count) bytes for \(w)×\(h) flow")
        }
        var u = [Float](repeating: 0, count: w * h), v = [Float](repeating: 0, count: w * h)
        data.withUnsafeBytes { raw in
            let f = raw.baseAddress!.advanced(by: 12)
            for i in 0..<(w * h) {
                u[i] = f.loadUnaligned(fromByteOffset: 8 * i, as: Float.self)
                v[i] = f.loadUnaligned(fromByteOffset: 8 * i + 4, as: Float.self)
            }
        }
        return (u, v, h, w)
    }

    package static func write(_ path: String, u: [Float], v: [Float], height: Int, width: Int) throws(DataError) {
        var data = Data()
        data.reserveCapacity(12 + 8 * u.count)
        withUnsafeBytes(of: magic) { data.append(contentsOf: $0) }
        withUnsafeBytes(of: Int32(width)) { data.append(contentsOf: $0) }
        withUnsafeBytes(of: Int32(height)) { data.append(contentsOf: $0) }
        var interleaved = [Float](repeating: 0, count: 2 * u.count)
        for i in 0..<u.count { interleaved[2 * i] = u[i]; interleaved[2 * i + 1] = v[i] }
        interleaved.withUnsafeBytes { data.append(contentsOf: $0) }
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw .unreadable(path: path, reason: "write failed: \(error)")
        }
    }
}
