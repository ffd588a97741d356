import Testing
@testable import Kernels

/// Deterministic pseudo-random floats (xorshift), roughly N(0, scale²)-shaped, with occasional outliers.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
    mutating func normal() -> Float {
        var s: Float = 0
        for _ in 0..<4 { s += uniform() }
        return (s - 2) * 1.7
    }
    mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { i in normal() * scale * (i % 97 == 5 ? 8 : 1) }
    }
    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next() >> 24) } }
}

func half(_ raw: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

@Suite struct ActivationQuantTests {
    static let blockCounts = [1, 3, 7, 18]

    func quantized(_ x: [Float], _ f: (UnsafePointer<Float>, UnsafeMutableRawPointer, Int) -> Void,
                   type: QuantType) -> [UInt8] {
        var out = [UInt8](repeating: 0xAA, count: type.byteCount(for: x.count))
        x.withUnsafeBufferPointer { xp in out.withUnsafeMutableBytes { f(xp.baseAddress!, $0.baseAddress!, x.count) } }
        return out
    }

    @Test(arguments: blockCounts)
    func q8_0MatchesReferenceAndRoundTrips(blocks: Int) {
        var rng = TestRandom(seed: UInt64(blocks))
        var x = rng.floats(32 * blocks, scale: 3)
        for j in 32..<min(64, x.count) { x[j] = 0 }                     // an all-zero block when blocks > 1
        let fast = quantized(x, { ActivationQuant.quantizeQ8_0($0, into: $1, count: $2) }, type: .q8_0)
        let reference = quantized(x, { ActivationQuant.quantizeQ8_0Reference($0, into: $1, count: $2) }, type: .q8_0)
        #expect(fast == reference)
        fast.withUnsafeBytes { raw in
            for b in 0..<blocks {
                let d = half(raw.baseAddress!, 34 * b)
                let amax = x[32 * b..<32 * b + 32].map { abs($0) }.max()!
                let df = amax / 127
                for j in 0..<32 {
                    let q = Float(Int8(bitPattern: raw[34 * b + 2 + j]))
                    #expect(abs(x[32 * b + j] - d * q) <= df / 2 + 127 * abs(d - df) + 1e-6)
                }
                if amax == 0 { #expect(d == 0) }
            }
        }
    }

    @Test(arguments: blockCounts)
    func q8_1MatchesReferenceAndCarriesSum(blocks: Int) {
        var rng = TestRandom(seed: 100 + UInt64(blocks))
        var x = rng.floats(32 * blocks)
        for j in 0..<32 { x[j] = abs(x[j]) }                              // a block with a large positive sum
        if blocks > 2 { for j in 64..<96 { x[j] = 0 } }
        let fast = quantized(x, { ActivationQuant.quantizeQ8_1($0, into: $1, count: $2) }, type: .q8_1)
        let reference = quantized(x, { ActivationQuant.quantizeQ8_1Reference($0, into: $1, count: $2) }, type: .q8_1)
        #expect(fast == reference)
        fast.withUnsafeBytes { raw in
            for b in 0..<blocks {
                let d = half(raw.baseAddress!, 36 * b), s = half(raw.baseAddress!, 36 * b + 2)
                var sum = 0
                for j in 0..<32 {
                    let q = Int(Int8(bitPattern: raw[36 * b + 4 + j]))
                    sum += q
                    #expect(abs(x[32 * b + j] - d * Float(q)) <= d / 2 * 1.13 + 1e-6)
                }
                #expect(abs(s - d * Float(sum)) <= abs(d * Float(sum)) * 2e-3 + 1e-6)
            }
        }
    }

    @Test(arguments: [1, 3, 5])
    func q8_KMatchesReferenceAndRoundTrips(blocks: Int) {
        var rng = TestRandom(seed: 200 + UInt64(blocks))
        var x = rng.floats(256 * blocks, scale: 0.5)
        if blocks > 1 { for j in 256..<512 { x[j] = 0 } }                 // all-zero block
        if blocks > 2 { x[512 + 77] = -40 }                               // negative extreme
        let fast = quantized(x, { ActivationQuant.quantizeQ8_K($0, into: $1, count: $2) }, type: .q8_K)
        let reference = quantized(x, { ActivationQuant.quantizeQ8_KReference($0, into: $1, count: $2) }, type: .q8_K)
        #expect(fast == reference)
        fast.withUnsafeBytes { raw in
            for b in 0..<blocks {
                let block = raw.baseAddress! + 292 * b
                let d = block.loadUnaligned(as: Float.self)
                let amax = x[256 * b..<256 * b + 256].map { abs($0) }.max()!
                #expect(abs(abs(d) - amax / 127) <= amax * 1e-6)
                for g in 0..<16 {
                    var sum = 0
                    for i in 0..<16 {
                        let j = 16 * g + i
                        let q = Int(block.load(fromByteOffset: 4 + j, as: Int8.self))
                        sum += q
                        #expect(abs(x[256 * b + j] - d * Float(q)) <= abs(d) / 2 + amax * 1e-6)
                    }
                    #expect(Int(block.loadUnaligned(fromByteOffset: 260 + 2 * g, as: Int16.self)) == sum)
                }
                if amax == 0 { #expect(d == 0) }
            }
        }
    }

    @Test func pairedFormats() {
        #expect(ActivationQuant.format(pairedWith: .q4_1) == .q8_1)
        #expect(ActivationQuant.format(pairedWith: .q5_0) == .q8_0)
        #expect(ActivationQuant.format(pairedWith: .q8_0) == .q8_0)
        #expect(ActivationQuant.format(pairedWith: .q6_K) == .q8_K)
        #expect(ActivationQuant.format(pairedWith: .f16) == nil)
    }
}
