import CFlyvisShim
import CHDF5
import FlyvisBase
import FlyvisMPI

#if canImport(Glibc)
import Glibc
#endif

let hdf5Lock = HDF5Lock()

/// Library-wide set-up done once: silence HDF5's automatic stack printing, because every
/// failure is reported as a Swift error instead.
private let silenceHDF5: Void = {
    _ = H5open()
    H5Eset_auto2(fv_h5e_default(), nil, nil)
}()

/// Collects the current HDF5 error stack into one short line (innermost cause last).
private func currentErrorStack() -> String { summarizeErrorStack(currentErrorLines()) }

/// The current HDF5 error stack, outermost first, and clears it.
private func currentErrorLines() -> [String] {
    final class Collector { var lines: [String] = [] }
    let collector = Collector()
    let box = Unmanaged.passRetained(collector)
    defer { box.release() }
    H5Ewalk2(
        fv_h5e_default(), H5E_WALK_DOWNWARD,
        { _, err, client in
            guard let err, let client else { return 0 }
            let c = Unmanaged<AnyObject>.fromOpaque(client).takeUnretainedValue() as! Collector
            let desc = err.pointee.desc.map { String(cString: $0) } ?? ""
            let fn = err.pointee.func_name.map { String(cString: $0) } ?? "?"
            c.lines.append(desc.isEmpty ? fn : "\(fn): \(desc)")
            return 0
        }, box.toOpaque())
    H5Eclear2(fv_h5e_default())
    return collector.lines
}

/// The library's stack as one short line: the outermost call (what failed) and the innermost
/// cause, each on one line, without HDF5's repetitions. A full stack runs to kilobytes.
func summarizeErrorStack(_ lines: [String]) -> String {
    let flat = lines.map { $0.split(whereSeparator: \.isNewline).joined(separator: " ") }
    guard let first = flat.first else { return "unknown HDF5 error" }
    var text = flat.count > 1 && flat.last! != first ? "\(first) <- … <- \(flat.last!)" : first
    if text.count > 400 { text = String(text.prefix(400)) + "…" }
    return text
}

/// Whether an HDF5 error stack reports a full device (errno 28) or quota (errno 122).
func stackReportsNoSpace(_ lines: [String]) -> (full: Bool, quota: Bool) {
    let quota = lines.contains { $0.contains("errno = \(EDQUOT),") }
    return (quota || lines.contains { $0.contains("errno = \(ENOSPC),") }, quota)
}

/// Writes `bytes` to `path` (created or truncated) with plain POSIX calls, so that a full disk
/// is an errno we report, not a failure deep inside HDF5's cache (which, after ENOSPC, leaves
/// file ids that crash the library at exit). On failure the partial file is removed.
func writeFileBytes(_ bytes: UnsafeRawBufferPointer, to path: String) throws(HDF5Error) {
    do {
        try AtomicFile.writeBytes(bytes, to: path)
    } catch {
        switch error {
        case let .noSpace(path, quota): throw .noSpace(file: path, quota: quota)
        case let .io(path, reason): throw .io(file: path, reason: reason)
        }
    }
}

/// Whether the linked HDF5 library supports MPI-IO (parallel) file access.
package var hdf5IsParallel: Bool { fv_h5_is_parallel() != 0 }

/// The linked HDF5 library version, e.g. "1.10.8".
package var hdf5LibraryVersion: String {
    hdf5Lock.lock(); defer { hdf5Lock.unlock() }
    var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
    H5get_libversion(&major, &minor, &release)
    return "\(major).\(minor).\(release)"
}

/// An open HDF5 file. Paths inside the file use '/' separators; parent groups are created on
/// write. In parallel mode (a communicator is given) every call that creates or changes
/// structure is collective: all ranks must make it with the same arguments.
package final class HDF5File {
    package enum Mode: Sendable { case readOnly, readWrite, truncate, createExclusive }

    package let path: String
    package let mode: Mode
    package let isParallel: Bool
    private var id: hid_t
    private var isOpen = true
    /// Serial files we create are built in memory (HDF5's core driver, no backing store) and
    /// written to `path` by `close()`/`flush()` in one POSIX write, so that a full disk is a
    /// clean error and never a half-flushed HDF5 file whose ids crash the library at exit.
    private let inMemory: Bool

    package init(path: String, mode: Mode, communicator: Communicator? = nil) throws(HDF5Error) {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        _ = silenceHDF5
        self.path = path
        self.mode = mode
        isParallel = communicator != nil
        inMemory = communicator == nil && (mode == .truncate || mode == .createExclusive)
        let fapl = H5Pcreate(fv_h5p_file_access())
        defer { H5Pclose(fapl) }
        if let communicator {
            guard hdf5IsParallel else { throw .parallelUnavailable }
            if H5Pset_fapl_mpio(fapl, communicator.rawHandle, fv_mpi_info_null()) < 0 {
                throw .library(operation: "set MPI-IO access", file: path, object: "", details: currentErrorStack())
            }
        }
        switch mode {
        case .readOnly, .readWrite:
            guard access(path, F_OK) == 0 else { throw .fileNotFound(file: path) }
            // Only regular files: opening a FIFO would wait for a writer forever.
            var st = stat()
            if stat(path, &st) == 0, st.st_mode & S_IFMT != S_IFREG { throw .notARegularFile(file: path) }
            if H5Fis_hdf5(path) <= 0 {
                H5Eclear2(fv_h5e_default())
                throw .notHDF5(file: path)
            }
            id = H5Fopen(path, mode == .readOnly ? fv_h5f_acc_rdonly() : fv_h5f_acc_rdwr(), fapl)
        case .truncate, .createExclusive:
            if inMemory {
                if mode == .createExclusive {
                    // Claim the name now, as H5F_ACC_EXCL would; the contents follow on close.
                    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
                    guard fd >= 0 else {
                        throw .library(operation: "create", file: path, object: "", details: String(cString: strerror(errno)))
                    }
                    Glibc.close(fd)
                }
                H5Pset_fapl_core(fapl, 1 << 20, false)
            }
            id = H5Fcreate(
                path, mode == .truncate || inMemory ? fv_h5f_acc_trunc() : fv_h5f_acc_excl(),
                fv_h5p_default(), fapl)
        }
        if id < 0 {
            isOpen = false
            let stack = currentErrorLines()
            if mode == .readOnly || mode == .readWrite { throw .notHDF5(file: path) }
            let space = stackReportsNoSpace(stack)
            if space.full { throw .noSpace(file: path, quota: space.quota) }
            throw .library(operation: "create", file: path, object: "", details: summarizeErrorStack(stack))
        }
    }

    deinit {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        guard isOpen else { return }
        // As HDF5 would on a close without close(): write what we have, errors unreported.
        if inMemory { try? writeImage() }
        H5Fclose(id)
    }

    /// Closes the file, reporting errors that a silent deinit would hide (e.g. a failed flush
    /// or a full disk). A file built in memory is written to disk here.
    package func close() throws(HDF5Error) {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        guard isOpen else { return }
        isOpen = false
        if inMemory {
            defer { H5Fclose(id) }  // in memory: closing cannot fail on the disk
            try writeImage()
            return
        }
        if H5Fclose(id) < 0 { throw fail("close", "") }
    }

    /// Writes buffered data to disk, so a crash afterwards keeps what was written.
    package func flush() throws(HDF5Error) {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        try ensureOpen()
        if inMemory { return try writeImage() }
        if H5Fflush(id, H5F_SCOPE_GLOBAL) < 0 { throw fail("flush", "") }
    }

    /// Writes the in-memory file's complete image to `path`.
    private func writeImage() throws(HDF5Error) {
        if H5Fflush(id, H5F_SCOPE_GLOBAL) < 0 { throw fail("flush", "") }
        let size = H5Fget_file_image(id, nil, 0)
        if size < 0 { throw fail("get file image", "") }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(Int(size), 1), alignment: 16)
        defer { buffer.deallocate() }
        if H5Fget_file_image(id, buffer.baseAddress, Int(size)) < 0 { throw fail("get file image", "") }
        try writeFileBytes(UnsafeRawBufferPointer(rebasing: buffer[0..<Int(size)]), to: path)
    }

    // MARK: Structure

    /// Whether a link exists at `path` (every intermediate group must exist too).
    package func exists(_ objectPath: String) -> Bool {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        guard isOpen else { return false }
        var prefix = ""
        for part in objectPath.split(separator: "/") {
            prefix += "/" + part
            if H5Lexists(id, prefix, fv_h5p_default()) <= 0 {
                H5Eclear2(fv_h5e_default())
                return false
            }
        }
        return true
    }

    /// Names of the links directly inside a group, in name order.
    package func children(_ groupPath: String) throws(HDF5Error) -> [String] {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        try ensureOpen()
        guard exists(groupPath) || groupPath == "/" else { throw .objectNotFound(file: path, object: groupPath) }
        let g = H5Gopen2(id, groupPath, fv_h5p_default())
        if g < 0 { throw fail("open group", groupPath) }
        defer { H5Gclose(g) }
        var info = H5G_info_t()
        if H5Gget_info(g, &info) < 0 { throw fail("list group", groupPath) }
        var names: [String] = []
        for i in 0..<info.nlinks {
            let n = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, fv_h5p_default())
            if n < 0 { throw fail("list group", groupPath) }
            var buf = [CChar](repeating: 0, count: Int(n) + 1)
            H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, Int(n) + 1, fv_h5p_default())
            names.append(string(fromNullTerminated: buf))
        }
        return names
    }

    /// Removes a link (dataset or group). Missing objects are ignored.
    package func remove(_ objectPath: String) throws(HDF5Error) {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        try ensureOpen()
        guard exists(objectPath) else { return }
        if H5Ldelete(id, objectPath, fv_h5p_default()) < 0 { throw fail("delete", objectPath) }
    }

    /// The shape of a dataset ([] for a scalar).
    package func shape(_ datasetPath: String) throws(HDF5Error) -> [Int] {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        let d = try openDataset(datasetPath)
        defer { H5Dclose(d) }
        return try dims(of: d, datasetPath)
    }

    /// The stored element type of a dataset: "float32", "float64", "int8"..."int64",
    /// "uint8"..."uint64", "string" or "other".
    package func elementType(_ datasetPath: String) throws(HDF5Error) -> String {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        let d = try openDataset(datasetPath)
        defer { H5Dclose(d) }
        let t = H5Dget_type(d)
        defer { H5Tclose(t) }
        let bits = H5Tget_size(t) * 8
        switch H5Tget_class(t) {
        case H5T_FLOAT: return "float\(bits)"
        case H5T_INTEGER: return (H5Tget_sign(t) == H5T_SGN_NONE ? "uint" : "int") + "\(bits)"
        case H5T_STRING: return "string"
        default: return "other"
        }
    }

    // MARK: Numeric datasets

    /// Writes a dataset, replacing any existing one. `shape` [] writes a scalar. `chunkRows`
    /// makes axis 0 extendable (for `append`) with that many rows per chunk; `compression`
    /// (0–9) enables gzip and implies chunking.
    package func write<T: HDF5Element>(
        _ datasetPath: String, _ values: [T], shape: [Int],
        chunkRows: Int? = nil, compression: Int? = nil
    ) throws(HDF5Error) {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        try ensureOpen()
        let count = shape.reduce(1, *)
        guard count == values.count else {
            throw .invalidArgument("'\(datasetPath)': \(values.count) values do not fill shape \(shape)")
        }
        if exists(datasetPath) { try remove(datasetPath) }
        let d = try createDataset(
            datasetPath, type: T.self, shape: shape,
            chunkRows: chunkRows ?? (compression != nil ? max(1, shape.first ?? 1) : nil),
            compression: compression)
        defer { H5Dclose(d) }
        if isParallel {
            // Collective writes need every rank to take part; rank 0 contributes the data.
            try writeSlab(
                d, datasetPath, values: values, start: shape.map { _ in 0 },
                count: shape, participate: true)
        } else {
            let status = values.withUnsafeBytes {
                H5Dwrite(d, T.nativeType, fv_h5s_all(), fv_h5s_all(), fv_h5p_default(), $0.baseAddress)
            }
            if status < 0 { throw fail("write", datasetPath) }
        }
    }

    /// Creates an empty dataset of the given shape (collectively in parallel mode), for ranks
    /// to fill with `writeHyperslab`. `fill` initialises unwritten elements.
    package func createDataset<T: HDF5Element>(
        _ datasetPath: String, of type: T.Type, shape: [Int],
        fill: T? = nil
    ) throws(HDF5Error) {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        try ensureOpen()
        if exists(datasetPath) { try remove(datasetPath) }
        let d = try createDataset(
            datasetPath, type: T.self, shape: shape, chunkRows: nil,
            compression: nil, fill: fill)
        H5Dclose(d)
    }

    /// Writes `values` into the block [start, start+count) of an existing dataset. In
    /// parallel mode this is collective: every rank calls it, with its own disjoint block
    /// (an empty `count` contributes nothing).
    package func writeHyperslab<T: HDF5Element>(
        _ datasetPath: String, _ values: [T], start: [Int],
        count: [Int]
    ) throws(HDF5Error) {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        let d = try openDataset(datasetPath)
        defer { H5Dclose(d) }
        let full = try dims(of: d, datasetPath)
        guard start.count == full.count, count.count == full.count,
            zip(zip(start, count), full).allSatisfy({ $0.0 >= 0 && $0.1 >= 0 && $0.0 + $0.1 <= $1 })
        else {
            throw .invalidArgument("'\(datasetPath)': block start \(start) count \(count) outside shape \(full)")
        }
        guard count.reduce(1, *) == values.count else {
            throw .invalidArgument("'\(datasetPath)': \(values.count) values do not fill block \(count)")
        }
        try writeSlab(
            d, datasetPath, values: values, start: start, count: count,
            participate: !count.contains(0))
    }

    /// Reads the block [start, start+count) of a numeric dataset into `buffer` (row-major,
    /// at least count's product elements), so a large dataset is read one piece at a time.
    package func readHyperslab<T: HDF5Element>(
        _ datasetPath: String, start: [Int], count: [Int],
        into buffer: UnsafeMutableBufferPointer<T>
    ) throws(HDF5Error) {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        let d = try openDataset(datasetPath)
        defer { H5Dclose(d) }
        let full = try dims(of: d, datasetPath)
        try checkType(d, T.self, datasetPath)
        guard start.count == full.count, count.count == full.count, !full.isEmpty,
            zip(zip(start, count), full).allSatisfy({ $0.0 >= 0 && $0.1 >= 0 && $0.0 + $0.1 <= $1 })
        else {
            throw .invalidArgument("'\(datasetPath)': block start \(start) count \(count) outside shape \(full)")
        }
        let n = count.reduce(1, *)
        guard buffer.count >= n else {
            throw .invalidArgument("'\(datasetPath)': a buffer of \(buffer.count) values cannot hold block \(count)")
        }
        if n == 0 { return }
        let fileSpace = H5Dget_space(d)
        defer { H5Sclose(fileSpace) }
        var s = start.map { hsize_t($0) }, c = count.map { hsize_t($0) }
        H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &s, nil, &c, nil)
        let memSpace = H5Screate_simple(Int32(c.count), &c, nil)
        defer { H5Sclose(memSpace) }
        if H5Dread(d, T.nativeType, memSpace, fileSpace, fv_h5p_default(), buffer.baseAddress) < 0 {
            throw fail("read", datasetPath)
        }
    }

    /// Appends rows along axis 0 of an extendable dataset, creating it (chunked) if missing.
    /// Loss histories grow this way, one checkpoint or iteration at a time.
    package func append<T: HDF5Element>(
        _ datasetPath: String, _ values: [T], rowShape: [Int] = [],
        chunkRows: Int = 256
    ) throws(HDF5Error) {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        try ensureOpen()
        let rowSize = rowShape.reduce(1, *)
        guard rowSize > 0, values.count % rowSize == 0 else {
            throw .invalidArgument("'\(datasetPath)': \(values.count) values are not whole rows of \(rowShape)")
        }
        let newRows = values.count / rowSize
        if !exists(datasetPath) {
            let d = try createDataset(
                datasetPath, type: T.self, shape: [0] + rowShape,
                chunkRows: chunkRows, compression: nil)
            H5Dclose(d)
        }
        let d = try openDataset(datasetPath)
        defer { H5Dclose(d) }
        let current = try dims(of: d, datasetPath)
        guard Array(current.dropFirst()) == rowShape else {
            throw .shapeMismatch(
                file: path, object: datasetPath, expected: [-1] + rowShape,
                found: current)
        }
        try checkType(d, T.self, datasetPath)
        var newDims = ([current[0] + newRows] + rowShape).map { hsize_t($0) }
        if H5Dset_extent(d, &newDims) < 0 { throw fail("extend", datasetPath) }
        guard newRows > 0 else { return }
        try writeSlab(
            d, datasetPath, values: values, start: [current[0]] + rowShape.map { _ in 0 },
            count: [newRows] + rowShape, participate: true)
    }

    /// Shrinks (or grows) axis 0 of an extendable dataset; used to roll histories back to a
    /// checkpoint before appending again.
    package func resize(_ datasetPath: String, rows: Int) throws(HDF5Error) {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        let d = try openDataset(datasetPath)
        defer { H5Dclose(d) }
        var newDims = try dims(of: d, datasetPath).map { hsize_t($0) }
        guard !newDims.isEmpty else { throw .invalidArgument("'\(datasetPath)' is a scalar") }
        newDims[0] = hsize_t(rows)
        if H5Dset_extent(d, &newDims) < 0 { throw fail("resize", datasetPath) }
    }

    /// Reads a whole numeric dataset. Integer and floating data convert within their class.
    package func read<T: HDF5Element>(_ datasetPath: String, as: T.Type = T.self) throws(HDF5Error) -> HDF5Array<T> {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        let d = try openDataset(datasetPath)
        defer { H5Dclose(d) }
        let shape = try dims(of: d, datasetPath)
        try checkType(d, T.self, datasetPath)
        // dims() bounds the count; the bytes must also fit this machine (a chunked file of a
        // few kB may claim terabytes), or the allocation below would abort the process.
        let bytes = Double(shape.reduce(1, *)) * Double(MemoryLayout<T>.stride)
        guard bytes <= Self.readableBytes else {
            throw .invalidArgument(
                "'\(path)': dataset '\(datasetPath)' of shape \(shape) needs \(Int(bytes / 1e9)) GB, more than half of this machine's memory (\(Int(Self.readableBytes * 2 / 1e9)) GB); the file is damaged or too large to read whole"
            )
        }
        var values = [T](repeating: T.zero, count: shape.reduce(1, *))
        if !values.isEmpty {
            let status = values.withUnsafeMutableBytes {
                H5Dread(d, T.nativeType, fv_h5s_all(), fv_h5s_all(), fv_h5p_default(), $0.baseAddress)
            }
            if status < 0 { throw fail("read", datasetPath) }
        }
        return HDF5Array(values: values, shape: shape)
    }

    /// Reads a dataset and checks its shape (use -1 for "any length" on an axis).
    package func read<T: HDF5Element>(
        _ datasetPath: String, as: T.Type = T.self,
        expectShape: [Int]
    ) throws(HDF5Error) -> [T] {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        let a: HDF5Array<T> = try read(datasetPath)
        guard a.shape.count == expectShape.count,
            zip(a.shape, expectShape).allSatisfy({ $1 < 0 || $0 == $1 })
        else {
            throw .shapeMismatch(file: path, object: datasetPath, expected: expectShape, found: a.shape)
        }
        return a.values
    }

    /// Reads a scalar (or one-element) dataset.
    package func readScalar<T: HDF5Element>(_ datasetPath: String, as: T.Type = T.self) throws(HDF5Error) -> T {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        let a: HDF5Array<T> = try read(datasetPath)
        guard a.values.count == 1 else {
            throw .shapeMismatch(file: path, object: datasetPath, expected: [], found: a.shape)
        }
        return a.values[0]
    }

    // MARK: Strings

    /// Writes a 1-D dataset of UTF-8 strings: variable-length (what h5py writes for str lists)
    /// in serial files, fixed-length in parallel files, because MPI-IO cannot write
    /// variable-length data.
    package func writeStrings(_ datasetPath: String, _ values: [String]) throws(HDF5Error) {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        try ensureOpen()
        if exists(datasetPath) { try remove(datasetPath) }
        if isParallel { return try writeFixedStrings(datasetPath, values) }
        let t = stringType()
        defer { H5Tclose(t) }
        var dims = [hsize_t(values.count)]
        let space = H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        let lcpl = linkCreationList()
        defer { H5Pclose(lcpl) }
        let d = H5Dcreate2(id, datasetPath, t, space, lcpl, fv_h5p_default(), fv_h5p_default())
        if d < 0 { throw fail("create", datasetPath) }
        defer { H5Dclose(d) }
        let dxpl = try transferList()
        defer { if isParallel { H5Pclose(dxpl) } }
        let status = withCStrings(values) { ptrs in
            H5Dwrite(d, t, fv_h5s_all(), fv_h5s_all(), dxpl, ptrs)
        }
        if status < 0 { throw fail("write", datasetPath) }
    }

    private func writeFixedStrings(_ datasetPath: String, _ values: [String]) throws(HDF5Error) {
        let width = max(1, values.map { $0.utf8.count }.max() ?? 1)
        let t = H5Tcopy(fv_h5t_c_s1())
        defer { H5Tclose(t) }
        H5Tset_size(t, width)
        H5Tset_strpad(t, H5T_STR_NULLPAD)
        H5Tset_cset(t, H5T_CSET_UTF8)
        var dims = [hsize_t(values.count)]
        let space = H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        let lcpl = linkCreationList()
        defer { H5Pclose(lcpl) }
        let d = H5Dcreate2(id, datasetPath, t, space, lcpl, fv_h5p_default(), fv_h5p_default())
        if d < 0 { throw fail("create", datasetPath) }
        defer { H5Dclose(d) }
        var buffer = [UInt8](repeating: 0, count: width * max(values.count, 1))
        for (i, v) in values.enumerated() {
            for (j, byte) in v.utf8.enumerated() { buffer[i * width + j] = byte }
        }
        let dxpl = try transferList()
        defer { if isParallel { H5Pclose(dxpl) } }
        let status = buffer.withUnsafeBytes { H5Dwrite(d, t, fv_h5s_all(), fv_h5s_all(), dxpl, $0.baseAddress) }
        if status < 0 { throw fail("write", datasetPath) }
    }

    /// Reads a 1-D dataset of strings, fixed-length or variable-length.
    package func readStrings(_ datasetPath: String) throws(HDF5Error) -> [String] {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        let d = try openDataset(datasetPath)
        defer { H5Dclose(d) }
        let ftype = H5Dget_type(d)
        defer { H5Tclose(ftype) }
        guard H5Tget_class(ftype) == H5T_STRING else {
            throw .typeMismatch(file: path, object: datasetPath, expected: "string", found: className(ftype))
        }
        let n = try dims(of: d, datasetPath).reduce(1, *)
        return try readStringData(ftype: ftype, count: n, object: datasetPath) { mtype, buf in
            H5Dread(d, mtype, fv_h5s_all(), fv_h5s_all(), fv_h5p_default(), buf)
        }
    }

    // MARK: Attributes

    /// Sets a scalar attribute on a group or dataset (the root is "/").
    package func setAttribute<T: HDF5Element>(_ name: String, _ value: T, on objectPath: String = "/") throws(HDF5Error) {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        try setAttribute(name, [value], shape: [], on: objectPath)
    }

    /// Sets an array attribute.
    package func setAttribute<T: HDF5Element>(
        _ name: String, _ values: [T], shape: [Int]? = nil,
        on objectPath: String = "/"
    ) throws(HDF5Error) {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        let shape = shape ?? [values.count]
        guard shape.reduce(1, *) == values.count else {
            throw .invalidArgument("attribute '\(name)': \(values.count) values do not fill \(shape)")
        }
        let o = try openObject(objectPath)
        defer { H5Oclose(o) }
        if H5Aexists(o, name) > 0 { H5Adelete(o, name) }
        let space = makeSpace(shape)
        defer { H5Sclose(space) }
        let a = H5Acreate2(o, name, T.nativeType, space, fv_h5p_default(), fv_h5p_default())
        if a < 0 { throw fail("create attribute '\(name)'", objectPath) }
        defer { H5Aclose(a) }
        let status = values.withUnsafeBytes { H5Awrite(a, T.nativeType, $0.baseAddress) }
        if status < 0 { throw fail("write attribute '\(name)'", objectPath) }
    }

    /// Sets a string attribute.
    package func setAttribute(_ name: String, string value: String, on objectPath: String = "/") throws(HDF5Error) {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        let o = try openObject(objectPath)
        defer { H5Oclose(o) }
        if H5Aexists(o, name) > 0 { H5Adelete(o, name) }
        let t = stringType()
        defer { H5Tclose(t) }
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        let a = H5Acreate2(o, name, t, space, fv_h5p_default(), fv_h5p_default())
        if a < 0 { throw fail("create attribute '\(name)'", objectPath) }
        defer { H5Aclose(a) }
        let status = withCStrings([value]) { H5Awrite(a, t, $0) }
        if status < 0 { throw fail("write attribute '\(name)'", objectPath) }
    }

    /// Reads a scalar attribute.
    package func attribute<T: HDF5Element>(
        _ name: String, on objectPath: String = "/",
        as: T.Type = T.self
    ) throws(HDF5Error) -> T {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        let values: [T] = try attributeArray(name, on: objectPath)
        guard values.count == 1 else {
            throw .shapeMismatch(file: path, object: "\(objectPath)@\(name)", expected: [], found: [values.count])
        }
        return values[0]
    }

    /// Reads an array attribute (flattened).
    package func attributeArray<T: HDF5Element>(
        _ name: String, on objectPath: String = "/",
        as: T.Type = T.self
    ) throws(HDF5Error) -> [T] {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        let a = try openAttribute(name, on: objectPath)
        defer { H5Aclose(a) }
        let ftype = H5Aget_type(a)
        defer { H5Tclose(ftype) }
        let cls = H5Tget_class(ftype)
        guard (cls == H5T_INTEGER && T.isInteger) || (cls == H5T_FLOAT && !T.isInteger) else {
            throw .typeMismatch(file: path, object: "\(objectPath)@\(name)", expected: T.typeName, found: className(ftype))
        }
        let space = H5Aget_space(a)
        defer { H5Sclose(space) }
        let n = Int(H5Sget_simple_extent_npoints(space))
        var values = [T](repeating: T.zero, count: n)
        let status = values.withUnsafeMutableBytes { H5Aread(a, T.nativeType, $0.baseAddress) }
        if status < 0 { throw fail("read attribute '\(name)'", objectPath) }
        return values
    }

    /// Reads a string attribute.
    package func stringAttribute(_ name: String, on objectPath: String = "/") throws(HDF5Error) -> String {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        let a = try openAttribute(name, on: objectPath)
        defer { H5Aclose(a) }
        let ftype = H5Aget_type(a)
        defer { H5Tclose(ftype) }
        guard H5Tget_class(ftype) == H5T_STRING else {
            throw .typeMismatch(file: path, object: "\(objectPath)@\(name)", expected: "string", found: className(ftype))
        }
        let strings = try readStringData(ftype: ftype, count: 1, object: "\(objectPath)@\(name)") { mtype, buf in
            H5Aread(a, mtype, buf)
        }
        return strings.first ?? ""
    }

    /// Names of the attributes on an object.
    package func attributeNames(on objectPath: String = "/") throws(HDF5Error) -> [String] {
        hdf5Lock.lock(); defer { hdf5Lock.unlock() }
        let o = try openObject(objectPath)
        defer { H5Oclose(o) }
        var info = H5O_info_t()
        if H5Oget_info2(o, &info, UInt32(H5O_INFO_NUM_ATTRS)) < 0 { throw fail("inspect", objectPath) }
        var names: [String] = []
        for i in 0..<info.num_attrs {
            let n = H5Aget_name_by_idx(o, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, fv_h5p_default())
            var buf = [CChar](repeating: 0, count: Int(max(n, 0)) + 1)
            H5Aget_name_by_idx(o, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, buf.count, fv_h5p_default())
            names.append(string(fromNullTerminated: buf))
        }
        return names
    }

    // MARK: Internals

    private func ensureOpen() throws(HDF5Error) {
        guard isOpen else { throw .invalidArgument("file '\(path)' is already closed") }
    }

    private func fail(_ operation: String, _ object: String) -> HDF5Error {
        let stack = currentErrorLines()
        let space = stackReportsNoSpace(stack)
        if space.full { return .noSpace(file: path, quota: space.quota) }
        return .library(operation: operation, file: path, object: object, details: summarizeErrorStack(stack))
    }

    private func linkCreationList() -> hid_t {
        let lcpl = H5Pcreate(fv_h5p_link_create())
        H5Pset_create_intermediate_group(lcpl, 1)
        return lcpl
    }

    /// Collective transfer in parallel mode, default otherwise.
    private func transferList() throws(HDF5Error) -> hid_t {
        guard isParallel else { return fv_h5p_default() }
        let dxpl = H5Pcreate(fv_h5p_dataset_xfer())
        H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE)
        return dxpl
    }

    private func makeSpace(_ shape: [Int], maxRows: hsize_t? = nil) -> hid_t {
        if shape.isEmpty { return H5Screate(H5S_SCALAR) }
        var dims = shape.map { hsize_t($0) }
        if let maxRows {
            var maxDims = dims
            maxDims[0] = maxRows
            return H5Screate_simple(Int32(dims.count), &dims, &maxDims)
        }
        return H5Screate_simple(Int32(dims.count), &dims, nil)
    }

    private func createDataset<T: HDF5Element>(
        _ datasetPath: String, type: T.Type, shape: [Int],
        chunkRows: Int?, compression: Int?,
        fill: T? = nil
    ) throws(HDF5Error) -> hid_t {
        if chunkRows != nil, shape.isEmpty {
            throw .invalidArgument("'\(datasetPath)': a scalar cannot be chunked or appended to")
        }
        if let level = compression, !(0...9).contains(level) {
            throw .invalidArgument("'\(datasetPath)': gzip level \(level) is outside 0...9")
        }
        let space = makeSpace(shape, maxRows: chunkRows != nil ? fv_h5s_unlimited() : nil)
        defer { H5Sclose(space) }
        let dcpl = H5Pcreate(fv_h5p_dataset_create())
        defer { H5Pclose(dcpl) }
        if let rows = chunkRows {
            var chunk = shape.map { hsize_t(max($0, 1)) }
            chunk[0] = hsize_t(max(1, rows))
            H5Pset_chunk(dcpl, Int32(chunk.count), &chunk)
            if let level = compression { H5Pset_deflate(dcpl, UInt32(level)) }
        }
        // Unwritten elements must read back as the fill value, also under MPI-IO where space is
        // allocated early; so the fill is always explicit and written at allocation.
        _ = [fill ?? T.zero].withUnsafeBytes { H5Pset_fill_value(dcpl, T.nativeType, $0.baseAddress) }
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC)
        let lcpl = linkCreationList()
        defer { H5Pclose(lcpl) }
        let d = H5Dcreate2(id, datasetPath, T.nativeType, space, lcpl, dcpl, fv_h5p_default())
        if d < 0 { throw fail("create dataset", datasetPath) }
        return d
    }

    private func writeSlab<T: HDF5Element>(
        _ d: hid_t, _ datasetPath: String, values: [T], start: [Int],
        count: [Int], participate: Bool
    ) throws(HDF5Error) {
        let fileSpace = H5Dget_space(d)
        defer { H5Sclose(fileSpace) }
        let memSpace: hid_t
        if start.isEmpty {
            memSpace = H5Screate(H5S_SCALAR)
            if !participate { H5Sselect_none(fileSpace); H5Sselect_none(memSpace) }
        } else if participate {
            var s = start.map { hsize_t($0) }, c = count.map { hsize_t($0) }
            H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &s, nil, &c, nil)
            memSpace = H5Screate_simple(Int32(c.count), &c, nil)
        } else {
            var one: hsize_t = 1
            memSpace = H5Screate_simple(1, &one, nil)
            H5Sselect_none(fileSpace)
            H5Sselect_none(memSpace)
        }
        defer { H5Sclose(memSpace) }
        let dxpl = try transferList()
        defer { if isParallel { H5Pclose(dxpl) } }
        let dummy = [T.zero]
        let status: herr_t
        if participate && !values.isEmpty {
            status = values.withUnsafeBytes { H5Dwrite(d, T.nativeType, memSpace, fileSpace, dxpl, $0.baseAddress) }
        } else {
            status = dummy.withUnsafeBytes { H5Dwrite(d, T.nativeType, memSpace, fileSpace, dxpl, $0.baseAddress) }
        }
        if status < 0 { throw fail("write", datasetPath) }
    }

    private func openDataset(_ datasetPath: String) throws(HDF5Error) -> hid_t {
        try ensureOpen()
        guard exists(datasetPath) else { throw .objectNotFound(file: path, object: datasetPath) }
        let d = H5Dopen2(id, datasetPath, fv_h5p_default())
        if d < 0 { throw fail("open dataset", datasetPath) }
        return d
    }

    private func openObject(_ objectPath: String) throws(HDF5Error) -> hid_t {
        try ensureOpen()
        guard objectPath == "/" || exists(objectPath) else { throw .objectNotFound(file: path, object: objectPath) }
        let o = H5Oopen(id, objectPath, fv_h5p_default())
        if o < 0 { throw fail("open", objectPath) }
        return o
    }

    private func openAttribute(_ name: String, on objectPath: String) throws(HDF5Error) -> hid_t {
        let o = try openObject(objectPath)
        defer { H5Oclose(o) }
        guard H5Aexists(o, name) > 0 else { throw .objectNotFound(file: path, object: "\(objectPath)@\(name)") }
        let a = H5Aopen(o, name, fv_h5p_default())
        if a < 0 { throw fail("open attribute '\(name)'", objectPath) }
        return a
    }

    private func dims(of d: hid_t, _ datasetPath: String) throws(HDF5Error) -> [Int] {
        let space = H5Dget_space(d)
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        if rank < 0 { throw fail("inspect", datasetPath) }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        H5Sget_simple_extent_dims(space, &dims, nil)
        // The shape comes from the file and sizes the arrays we allocate: refuse absurd ones
        // (a damaged or hostile file) instead of trapping on overflow or exhausting memory.
        var count: UInt64 = 1
        for d in dims {
            let (c, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, c <= Self.maxElements else {
                throw .invalidArgument(
                    "'\(path)': dataset '\(datasetPath)' claims shape \(dims) (more than \(Self.maxElements) elements); the file is damaged"
                )
            }
            count = c
        }
        return dims.map { Int($0) }
    }

    /// The largest dataset this layer reads (2^36 elements, far beyond any results file).
    static let maxElements: UInt64 = 1 << 36
    /// At most half the machine's memory is read into one array.
    static let readableBytes = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE))) / 2

    private func checkType<T: HDF5Element>(_ d: hid_t, _: T.Type, _ datasetPath: String) throws(HDF5Error) {
        let ftype = H5Dget_type(d)
        defer { H5Tclose(ftype) }
        let cls = H5Tget_class(ftype)
        guard (cls == H5T_INTEGER && T.isInteger) || (cls == H5T_FLOAT && !T.isInteger) else {
            throw .typeMismatch(file: path, object: datasetPath, expected: T.typeName, found: className(ftype))
        }
    }

    private func className(_ t: hid_t) -> String {
        switch H5Tget_class(t) {
        case H5T_INTEGER: return "integer"
        case H5T_FLOAT: return "floating-point"
        case H5T_STRING: return "string"
        case H5T_COMPOUND: return "compound"
        case H5T_ENUM: return "enum"
        default: return "other"
        }
    }

    private func stringType() -> hid_t {
        let t = H5Tcopy(fv_h5t_c_s1())
        H5Tset_size(t, Int(bitPattern: UInt(bitPattern: -1)))  // H5T_VARIABLE
        H5Tset_cset(t, H5T_CSET_UTF8)
        return t
    }

    private func readStringData(
        ftype: hid_t, count: Int, object: String,
        _ readInto: (hid_t, UnsafeMutableRawPointer) -> herr_t
    ) throws(HDF5Error) -> [String] {
        if count == 0 { return [] }
        if H5Tis_variable_str(ftype) > 0 {
            let mtype = stringType()
            H5Tset_cset(mtype, H5Tget_cset(ftype))
            defer { H5Tclose(mtype) }
            var ptrs = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            let status = ptrs.withUnsafeMutableBytes { readInto(mtype, $0.baseAddress!) }
            if status < 0 { throw fail("read", object) }
            let strings = ptrs.map { $0.map { String(cString: $0) } ?? "" }
            for p in ptrs { free(p) }
            return strings
        }
        let size = H5Tget_size(ftype)
        let mtype = H5Tcopy(fv_h5t_c_s1())
        defer { H5Tclose(mtype) }
        H5Tset_size(mtype, size)
        H5Tset_cset(mtype, H5Tget_cset(ftype))
        H5Tset_strpad(mtype, H5Tget_strpad(ftype))
        var buf = [UInt8](repeating: 0, count: size * count)
        let status = buf.withUnsafeMutableBytes { readInto(mtype, $0.baseAddress!) }
        if status < 0 { throw fail("read", object) }
        return (0..<count).map { i in
            let bytes = buf[(i * size)..<((i + 1) * size)].prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}

/// Calls `body` with a C array of C strings that live for the duration of the call.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafeRawPointer) -> R) -> R {
    let cStrings = strings.map { strdup($0) }
    defer { cStrings.forEach { free($0) } }
    return cStrings.withUnsafeBytes { body($0.baseAddress!) }
}

private func string(fromNullTerminated buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
