import CLibPNG
import Foundation

/// Problems with data files and folders, each naming the file and the fix.
package enum DataError: Error, CustomStringConvertible, Equatable {
    case missingFolder(path: String, hint: String)
    case unreadable(path: String, reason: String)
    case badFlowMagic(path: String, found: Float)
    case frameCountMismatch(scene: String, frames: Int, flows: Int)
    case sizeMismatch(path: String, expected: String, found: String)
    case tooFewFrames(needed: Int, available: Int)
    case invalidConfig(key: String, problem: String)
    case emptyDataset(String)
    /// A stop request (SIGTERM/SIGUSR1) arrived while the data set was being prepared.
    case stopRequested

    package var description: String {
        switch self {
        case let .missingFolder(path, hint): return "missing folder '\(path)': \(hint)"
        case let .unreadable(path, reason): return "cannot read '\(path)': \(reason)"
        case let .badFlowMagic(path, found):
            return "'\(path)' is not a Middlebury .flo file (tag \(found), expected 202021.25); re-extract the Sintel flow files"
        case let .frameCountMismatch(scene, frames, flows):
            return "Sintel scene '\(scene)' has \(frames) PNG frames but \(flows) .flo files (expected \(max(frames - 1, 0))); the copy is incomplete"
        case let .sizeMismatch(path, expected, found):
            return "'\(path)' has size \(found), expected \(expected)"
        case let .tooFewFrames(needed, available):
            return "a sample needs \(needed) frames but the sequence has \(available); lower task.dataset.n_frames"
        case let .invalidConfig(key, problem): return "task.dataset.\(key): \(problem)"
        case let .emptyDataset(why): return "the dataset is empty: \(why)"
        case .stopRequested: return "stopped on request while the data set was being prepared; nothing was trained or cached, rerun to continue"
        }
    }
}

/// 8-bit images through libpng's simplified API (no setjmp needed).
package enum PNGFile {
    /// Reads a PNG as RGB and converts it to luminance with PIL's integer "L" formula
    /// (19595·R + 38470·G + 7471·B + 32768) >> 16, divided by 255 in float32, as flyvis does.
    package static func readLuminance(_ path: String) throws(DataError) -> (values: [Float], height: Int, width: Int) {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_file(&image, path) != 0 else {
            throw .unreadable(path: path, reason: message(&image))
        }
        image.format = png_uint_32(PNG_FORMAT_RGB)
        let w = Int(image.width), h = Int(image.height)
        // The header's size decides the allocation: bound it (Sintel frames are 436×1024).
        guard w > 0, h > 0, w <= maxPixels / h else {
            png_image_free(&image)
            throw .unreadable(path: path, reason: "a \(w)×\(h) image is larger than this reader accepts (\(maxPixels) pixels)")
        }
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        let ok = rgb.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
        guard ok != 0 else {
            let m = message(&image)
            png_image_free(&image)
            throw .unreadable(path: path, reason: m)
        }
        var out = [Float](repeating: 0, count: w * h)
        for i in 0..<(w * h) {
            let r = UInt32(rgb[3 * i]), g = UInt32(rgb[3 * i + 1]), b = UInt32(rgb[3 * i + 2])
            let l = (19595 * r + 38470 * g + 7471 * b + 32768) >> 16
            out[i] = Float(l) / 255
        }
        return (out, h, w)
    }

    /// Writes an 8-bit grey PNG (used to build Sintel-format folders).
    package static func writeGray(_ path: String, pixels: [UInt8], height: Int, width: Int) throws(DataError) {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(width)
        image.height = png_uint_32(height)
        image.format = png_uint_32(PNG_FORMAT_GRAY)
        let ok = pixels.withUnsafeBytes { png_image_write_to_file(&image, path, 0, $0.baseAddress, 0, nil) }
        guard ok != 0 else { throw .unreadable(path: path, reason: "write failed: " + message(&image)) }
    }

    private static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

/// The largest image the PNG reader decodes (2^28 pixels, far beyond Sintel's 436×1024).
let maxPixels = 1 << 28

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
