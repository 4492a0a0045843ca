import Testing
@testable import FlyvisBLAS

@Suite struct BLASTests {
    @Test func sgemmMatchesNaiveProductForAllTransposes() {
        let m = 5, n = 7, k = 3
        let a = (0..<(m * k)).map { Float(($0 * 7) % 11) - 5 }   // stored m×k
        let b = (0..<(k * n)).map { Float(($0 * 5) % 13) * 0.5 }  // stored k×n
        var want = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k { want[i * n + j] += a[i * k + p] * b[p * n + j] } } }
        var c = [Float](repeating: 1, count: m * n)
        BLAS.sgemm(.none, .none, m: m, n: n, k: k, a: a, b: b, c: &c)
        #expect(c == want)
        // Same product from transposed storage: Aᵀ stored k×m, Bᵀ stored n×k.
        let at = (0..<(k * m)).map { a[($0 % m) * k + $0 / m] }
        let bt = (0..<(n * k)).map { b[($0 % k) * n + $0 / k] }
        var c2 = [Float](repeating: 0, count: m * n)
        BLAS.sgemm(.transpose, .transpose, m: m, n: n, k: k, a: at, b: bt, c: &c2)
        #expect(c2 == want)
        // beta accumulates.
        BLAS.sgemm(.none, .none, m: m, n: n, k: k, alpha: 2, a: a, b: b, beta: 1, c: &c2)
        #expect(c2 == want.map { 3 * $0 })
    }

    @Test func levelOneAndThreads() {
        var y: [Float] = [1, 2, 3]
        BLAS.saxpy(n: 3, alpha: 2, x: [1, 1, 1], y: &y)
        #expect(y == [3, 4, 5])
        #expect(BLAS.sdot(n: 3, x: y, y: [1, 0, 2]) == 13)
        BLAS.sscal(n: 3, alpha: 0.5, x: &y)
        #expect(y == [1.5, 2, 2.5])
        #expect(BLAS.configureThreads(defaultThreads: 1, environment: [:]) == 1)
        #expect(BLAS.configureThreads(environment: ["FLYVIS_BLAS_THREADS": "2"]) == 2)
        BLAS.threadCount = 1
        #expect(!BLAS.coreName.isEmpty)
    }
}
