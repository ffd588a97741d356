import Testing
@testable import Kernels

/// HalfVector's AVX2 versions against its scalar references, bit for bit, at lengths around the 32-wide steps.
@Suite struct HalfVectorTests {
    static let lengths = [1, 7, 8, 31, 32, 33, 64, 100, 256, 257]

    func halves(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float16] {
        var rng = TestRandom(seed: seed)
        return rng.floats(count, scale: scale).map { Float16($0) }
    }

    @Test(arguments: lengths)
    func dotMatchesReference(count: Int) {
        let a = halves(count, seed: 1), b = halves(count, seed: 2, scale: 3)
        let fast = HalfVector.dot(a, b, count: count), reference = HalfVector.dotReference(a, b, count: count)
        #expect(fast.bitPattern == reference.bitPattern)
        let exact = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(Double(fast) - exact) <= 1e-5 * max(1, abs(exact)) * Double(count))
    }

    @Test(arguments: lengths)
    func multiplyAddAndScaleMatchReference(count: Int) {
        let x = halves(count, seed: 3)
        var fast = halves(count, seed: 4), reference = fast
        for v: Float in [0.37, 1, 2.5e-3] {
            HalfVector.multiplyAdd(x, v, into: &fast, count: count)
            HalfVector.multiplyAddReference(x, v, into: &reference, count: count)
            HalfVector.scale(&fast, by: v, count: count)
            HalfVector.scaleReference(&reference, by: v, count: count)
        }
        #expect(fast.map(\.bitPattern) == reference.map(\.bitPattern))
    }

    @Test func multiplyAddFusesTheProduct() {
        // llama.cpp's F16 multiply-add is F16(fma(x, v, y)). Here 1 + x·v lies just above the midpoint between
        // two halves, while x·v rounded to Float first lands 1 + F32(x·v) exactly on it (and ties go to even):
        // a fused kernel gives 1 + 2⁻¹⁰, an unfused one 1. Both at a SIMD position and in the scalar tail.
        let x = [Float16](repeating: 0.878_906_25, count: 9)
        let v = Float(bitPattern: 0x3A11_A741)   // 0x1.234e82p-11
        var y = [Float16](repeating: 1, count: 9)
        #expect(Float16(1 + Float(x[0]) * v) == 1)
        HalfVector.multiplyAdd(x, v, into: &y, count: 9)
        #expect(y == [Float16](repeating: Float16(1 + 0x1p-10), count: 9))
        var reference = [Float16](repeating: 1, count: 9)
        HalfVector.multiplyAddReference(x, v, into: &reference, count: 9)
        #expect(reference == y)
    }

    @Test(arguments: lengths)
    func widenedMultiplyAddMatchesReference(count: Int) {
        let x = halves(count, seed: 5)
        var rng = TestRandom(seed: 6)
        var fast = rng.floats(count, scale: 1e5), reference = fast
        HalfVector.multiplyAdd(x, 0.61, into: &fast, count: count)
        HalfVector.multiplyAddReference(x, 0.61, into: &reference, count: count)
        #expect(fast.map(\.bitPattern) == reference.map(\.bitPattern))
    }

    @Test(arguments: lengths)
    func roundAndWidenConvert(count: Int) {
        var rng = TestRandom(seed: UInt64(count))
        let x = rng.floats(count)
        var h = [Float16](repeating: 0, count: count)
        HalfVector.round(x, times: 0.5, into: &h, count: count)
        #expect(h == x.map { Float16($0 * 0.5) })
        var back = [Float](repeating: 0, count: count)
        HalfVector.widen(h, times: 2, into: &back, count: count)
        #expect(back == h.map { Float($0) * 2 })
    }
}
