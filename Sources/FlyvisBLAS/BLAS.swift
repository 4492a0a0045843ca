import COpenBLAS

/// Thin, typed entry points into OpenBLAS (single precision, row-major), so that numerics
/// modules never touch the C API.
package enum BLAS {
    package enum Transpose: Sendable {
        case none, transpose
        @usableFromInline var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
    }

    /// C ← alpha·op(A)·op(B) + beta·C, row-major. `lda`, `ldb`, `ldc` default to the packed widths.
    @inlinable
    package static func sgemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil
    ) {
        let lda = lda ?? (transA == .none ? k : m)
        let ldb = ldb ?? (transB == .none ? n : k)
        let ldc = ldc ?? n
        cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas,
                    blasint(m), blasint(n), blasint(k), alpha,
                    a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// y ← alpha·op(A)·x + beta·y, row-major A of shape m×n.
    @inlinable
    package static func sgemv(
        _ trans: Transpose, m: Int, n: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int? = nil, x: UnsafePointer<Float>, incx: Int = 1,
        beta: Float = 0, y: UnsafeMutablePointer<Float>, incy: Int = 1
    ) {
        cblas_sgemv(CblasRowMajor, trans.cblas, blasint(m), blasint(n), alpha,
                    a, blasint(lda ?? n), x, blasint(incx), beta, y, blasint(incy))
    }

    /// y ← alpha·x + y.
    @inlinable
    package static func saxpy(n: Int, alpha: Float, x: UnsafePointer<Float>, incx: Int = 1,
                             y: UnsafeMutablePointer<Float>, incy: Int = 1) {
        cblas_saxpy(blasint(n), alpha, x, blasint(incx), y, blasint(incy))
    }

    /// x · y.
    @inlinable
    package static func sdot(n: Int, x: UnsafePointer<Float>, incx: Int = 1,
                            y: UnsafePointer<Float>, incy: Int = 1) -> Float {
        cblas_sdot(blasint(n), x, blasint(incx), y, blasint(incy))
    }

    /// x ← alpha·x.
    @inlinable
    package static func sscal(n: Int, alpha: Float, x: UnsafeMutablePointer<Float>, incx: Int = 1) {
        cblas_sscal(blasint(n), alpha, x, blasint(incx))
    }

    /// Double-precision GEMM, for finite-difference checks and Double builds of the numerics.
    @inlinable
    package static func dgemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Double = 1, a: UnsafePointer<Double>, lda: Int? = nil,
        b: UnsafePointer<Double>, ldb: Int? = nil,
        beta: Double = 0, c: UnsafeMutablePointer<Double>, ldc: Int? = nil
    ) {
        let lda = lda ?? (transA == .none ? k : m)
        let ldb = ldb ?? (transB == .none ? n : k)
        cblas_dgemm(CblasRowMajor, transA.cblas, transB.cblas,
                    blasint(m), blasint(n), blasint(k), alpha,
                    a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc ?? n))
    }

    /// OpenBLAS worker threads. Several MPI ranks per node that each run a multi-threaded
    /// BLAS oversubscribe the cores, so ranks default to one thread (see `configureThreads`).
    package static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Applies the thread policy: `FLYVIS_BLAS_THREADS` if set, otherwise `defaultThreads`.
    /// Returns the count in effect.
    @discardableResult
    package static func configureThreads(defaultThreads: Int = 1,
                                        environment: [String: String]) -> Int {
        if let s = environment["FLYVIS_BLAS_THREADS"], let n = Int(s), n > 0 {
            threadCount = n
        } else {
            threadCount = defaultThreads
        }
        return threadCount
    }

    /// The CPU kernel family OpenBLAS selected at load time (e.g. "Haswell").
    package static var coreName: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS build configuration string.
    package static var configString: String { String(cString: openblas_get_config()) }

    /// Processors OpenBLAS can see.
    package static var processorCount: Int { Int(openblas_get_num_procs()) }
}
