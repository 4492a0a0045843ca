import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads inputs that must be plain files (checkpoints): a directory, FIFO or device in their
/// place is refused before it is read. The file is opened non-blocking (a FIFO would
/// otherwise wait for a writer forever) and checked with `fstat` on the open descriptor, so a
/// swap after the check cannot slip through; its size is then known, and a zip reader
/// working on the bytes cannot run past its end.
package enum RegularFile {
    /// What `path` is when it is not a regular file ("a directory", "a FIFO"...), else nil;
    /// symlinks are followed. A missing path is nil too (the caller's open reports it).
    package static func irregularKind(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return kind(st.st_mode)
    }

    /// The whole file.
    package static func contents(of path: String) throws(RegularFileError) -> Data {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        if let k = kind(st.st_mode) { throw .notRegular(path: path, kind: k) }
        let limit = Int64(ProcessInfo.processInfo.physicalMemory / 2)
        guard Int64(st.st_size) <= limit else { throw .tooLarge(path: path, bytes: Int64(st.st_size), limit: limit) }
        var data = Data(count: Int(st.st_size))
        var offset = 0
        var failure: Int32 = 0
        data.withUnsafeMutableBytes { (buf: UnsafeMutableRawBufferPointer) in
            while offset < buf.count {
                let n = read(fd, buf.baseAddress! + offset, buf.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if n == 0 { break }  // shrank meanwhile: what is there is all there is
                offset += n
            }
        }
        if failure != 0 { throw .io(path: path, reason: String(cString: strerror(failure))) }
        if offset < data.count { data.removeSubrange(offset...) }
        return data
    }

    private static func kind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a file"
        }
    }
}
