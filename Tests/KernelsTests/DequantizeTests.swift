// Dequantize on its own: block sizes, partial rows, the fp16/bf16 conversions, the k-quant scale
// unpacking, and every SIMD fast path against the scalar reference.
import Kernels
import Testing

/// A small deterministic generator (SplitMix64), so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476C_E5B9_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Byte offsets of the fp16 scale fields of each quantised block (d, and m / dmin / s).
func halfFieldOffsets(_ type: QuantType) -> [Int] {
    switch type {
    case .q4_0, .q5_0, .q8_0: return [0]
    case .q4_1, .q5_1, .q8_1, .q4_K, .q5_K: return [0, 2]
    case .q6_K: return [208]
    case .f32, .f16, .bf16, .q8_K: return []
    }
}

/// Random blocks with every scale field a finite value in ±0.05 (and random finite plain floats).
func randomBlocks(_ type: QuantType, blockCount: Int, using rng: inout SplitMix64) -> [UInt8] {
    var bytes = (0..<type.bytesPerBlock * blockCount).map { _ in UInt8.random(in: 0...255, using: &rng) }
    for b in 0..<blockCount {
        let block = b * type.bytesPerBlock
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { for (i, byte) in $0.enumerated() { bytes[block + offset + i] = byte } }
        }
        for offset in halfFieldOffsets(type) {
            put(Half.fromFloat(Float.random(in: -0.05...0.05, using: &rng)), at: offset)
        }
        switch type {
        case .q8_K: put(Float.random(in: -0.05...0.05, using: &rng).bitPattern, at: 0)
        case .f32: put(Float.random(in: -4...4, using: &rng).bitPattern, at: 0)
        case .f16: put(Half.fromFloat(Float.random(in: -4...4, using: &rng)), at: 0)
        default: break
        }
    }
    return bytes
}

/// Expects the same floats bit for bit, naming the first value that differs.
func expectBitIdentical(_ actual: [Float], _ expected: [Float], _ name: String) {
    guard actual.count == expected.count else {
        Issue.record("\(name): \(actual.count) values, expected \(expected.count)")
        return
    }
    if let i = actual.indices.first(where: { actual[$0].bitPattern != expected[$0].bitPattern }) {
        Issue.record("\(name): value \(i) is \(actual[i]), expected \(expected[i])")
    }
}

@Suite struct DequantizeTests {
    /// Bytes per block, summed from the fields of ggml's block structs.
    @Test func bytesPerBlockMatchTheBlockLayouts() {
        let fieldSums: [QuantType: Int] = [
            .f32: 4, .f16: 2, .bf16: 2,
            .q4_0: 2 + 16, .q4_1: 2 + 2 + 16, .q5_0: 2 + 4 + 16, .q5_1: 2 + 2 + 4 + 16,
            .q8_0: 2 + 32, .q8_1: 2 + 2 + 32,
            .q4_K: 2 + 2 + 12 + 128, .q5_K: 2 + 2 + 12 + 32 + 128, .q6_K: 128 + 64 + 16 + 2,
            .q8_K: 4 + 256 + 16 * 2,
        ]
        for type in QuantType.allCases {
            #expect(type.bytesPerBlock == fieldSums[type], "\(type)")
            #expect(type.byteCount(for: 7 * type.blockSize) == 7 * type.bytesPerBlock, "\(type)")
        }
    }

    /// Rows of 1, 3 and 7 blocks decode to the first values of a longer row, and write nothing beyond.
    @Test(arguments: QuantType.allCases)
    func partialRowsDecodeTheirPrefix(_ type: QuantType) {
        var rng = SplitMix64(state: 0x5EED_0000 + UInt64(type.ggmlType.rawValue))
        let bytes = randomBlocks(type, blockCount: 7, using: &rng)
        let whole = decodeGuarded(bytes, count: 7 * type.blockSize, name: "\(type) × 7") {
            Dequantize.referenceRow(type, $0, $1, 7 * type.blockSize)
        }
        for blocks in [1, 3, 7] {
            let count = blocks * type.blockSize
            let prefix = Array(bytes[..<type.byteCount(for: count)])
            let fast = decodeGuarded(prefix, count: count, name: "\(type) × \(blocks)") {
                Dequantize.row(type, $0, $1, count)
            }
            let reference = decodeGuarded(prefix, count: count, name: "\(type) × \(blocks) (reference)") {
                Dequantize.referenceRow(type, $0, $1, count)
            }
            expectBitIdentical(fast, Array(whole[..<count]), "\(type) × \(blocks)")
            expectBitIdentical(reference, Array(whole[..<count]), "\(type) × \(blocks) (reference)")
        }
    }

    /// Every fast path gives the reference's floats bit for bit, at many lengths and at unaligned addresses.
    @Test(arguments: QuantType.allCases)
    func fastPathEqualsScalarReference(_ type: QuantType) {
        var rng = SplitMix64(state: 0xFA57_0000 + UInt64(type.ggmlType.rawValue))
        for blocks in [1, 2, 3, 4, 5, 7, 8, 9, 16, 33] {
            let count = blocks * type.blockSize
            for misalignment in [0, 1, 3] {
                let bytes = [UInt8](repeating: 0, count: misalignment) + randomBlocks(type, blockCount: blocks, using: &rng)
                let name = "\(type) × \(blocks) at +\(misalignment)"
                let fast = decodeGuarded(bytes, count: count, name: name) { Dequantize.row(type, $0 + misalignment, $1, count) }
                let reference = decodeGuarded(bytes, count: count, name: name) { Dequantize.referenceRow(type, $0 + misalignment, $1, count) }
                expectBitIdentical(fast, reference, name)
            }
        }
    }

    @Test func halfConversionsRoundTripEveryFiniteHalf() {
        for bits in UInt16.min...UInt16.max {
            let value = Half.toFloat(bits)
            if value.isNaN {
                #expect(Half.fromFloat(value) & 0x7C00 == 0x7C00 && Half.fromFloat(value) & 0x03FF != 0)
            } else {
                #expect(Half.fromFloat(value) == bits, "0x\(String(bits, radix: 16))")
            }
        }
        #expect(Half.toFloat(0x3C00) == 1)
        #expect(Half.toFloat(0xC000) == -2)
        #expect(Half.toFloat(0x0001) == 0x1p-24)       // smallest subnormal
        #expect(Half.toFloat(0x7BFF) == 65504)
        #expect(Half.toFloat(0x7C00) == .infinity)
        #expect(Half.fromFloat(1 + 0x1p-11) == 0x3C00)  // tie: rounds to the even mantissa
        #expect(Half.fromFloat(1 + 0x1p-11 + 0x1p-20) == 0x3C01)
        #expect(Half.fromFloat(1e6) == 0x7C00)
    }

    @Test func bfloat16ConversionsRoundToNearestEven() {
        for bits in UInt16.min...UInt16.max {
            let value = BFloat16.toFloat(bits)
            #expect(value.bitPattern == UInt32(bits) << 16)
            if value.isNaN {
                #expect(BFloat16.toFloat(BFloat16.fromFloat(value)).isNaN)
            } else {
                #expect(BFloat16.fromFloat(value) == bits, "0x\(String(bits, radix: 16))")
            }
        }
        #expect(BFloat16.fromFloat(Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie, even below
        #expect(BFloat16.fromFloat(Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // tie, even above
        #expect(BFloat16.fromFloat(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(BFloat16.fromFloat(.greatestFiniteMagnitude) == 0x7F80)         // rounds up to +inf
        #expect(BFloat16.fromFloat(Float(bitPattern: 0x7F80_0001)) == 0x7FC0)   // a NaN whose payload truncation would lose stays NaN
    }

    /// Packs random 6-bit scales and mins the way ggml does and unpacks them again.
    @Test func kQuantScalesUnpackWhatWasPacked() {
        var rng = SplitMix64(state: 42)
        for _ in 0..<200 {
            let scales = (0..<8).map { _ in UInt8.random(in: 0...63, using: &rng) }
            let mins = (0..<8).map { _ in UInt8.random(in: 0...63, using: &rng) }
            var packed = [UInt8](repeating: 0, count: KQuantScales.packedByteCount)
            for j in 0..<4 {
                packed[j] = scales[j] | (scales[j + 4] >> 4) << 6
                packed[j + 4] = mins[j] | (mins[j + 4] >> 4) << 6
                packed[j + 8] = (scales[j + 4] & 0x0F) | (mins[j + 4] & 0x0F) << 4
            }
            packed.withUnsafeBytes { raw in
                for j in 0..<8 {
                    let (scale, min) = KQuantScales.scaleAndMin(raw.baseAddress!, j)
                    #expect(scale == scales[j] && min == mins[j], "sub-block \(j)")
                }
            }
        }
    }
}
