import Testing

@testable import FlyvisBase

/// The kernels rely on AlignedBuffer for whole-vector loads that never straddle cache lines,
/// and on fresh sizes reading as zeros (padding and missing cells are read as zeros).
@Suite struct AlignedBufferTests {
    @Test(arguments: [0, 1, 7, 1000, 300_000])
    func startsACacheLineZeroFilled(count: Int) {
        let b = AlignedBuffer<Float>(count: count)
        #expect(b.count == count)
        #expect(UInt(bitPattern: b.baseAddress) % UInt(AlignedBuffer<Float>.alignment) == 0)
        #expect(b.withUnsafeBufferPointer { $0.allSatisfy { $0 == 0 } })
        let p = AlignedBuffer<Float>.allocateZeroed(count)
        defer { p.deallocate() }
        #expect(UInt(bitPattern: p) % 64 == 0)
        #expect((0..<count).allSatisfy { p[$0] == 0 })
    }

    @Test func resizeKeepsTheSameSizeAndZeroFillsANewOne() {
        let b = AlignedBuffer<Double>(count: 16)
        b.withUnsafeMutableBufferPointer { for i in 0..<$0.count { $0[i] = Double(i + 1) } }
        b.resize(16)
        #expect(b.withUnsafeBufferPointer { Array($0) } == (1...16).map(Double.init))
        b.resize(40)
        #expect(b.count == 40)
        #expect(UInt(bitPattern: b.baseAddress) % 64 == 0)
        #expect(b.withUnsafeBufferPointer { $0.allSatisfy { $0 == 0 } })
    }
}
