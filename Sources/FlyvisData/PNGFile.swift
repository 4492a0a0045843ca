import CLibPNG
import Foundation

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
