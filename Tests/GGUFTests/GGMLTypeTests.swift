import GGUF
import Testing

@Suite struct GGMLTypeTests {
    @Test func knownBlockFormatsHaveGGMLSizes() {
        let expected: [(GGMLType, Int, Int)] = [
            (.f32, 1, 4), (.f16, 1, 2), (.bf16, 1, 2), (.q4_0, 32, 18), (.q4_1, 32, 20), (.q5_0, 32, 22),
            (.q5_1, 32, 24), (.q8_0, 32, 34), (.q8_1, 32, 36), (.q2_K, 256, 84), (.q3_K, 256, 110),
            (.q4_K, 256, 144), (.q5_K, 256, 176), (.q6_K, 256, 210), (.q8_K, 256, 292), (.i8, 1, 1),
            (.i16, 1, 2), (.i32, 1, 4), (.i64, 1, 8), (.f64, 1, 8),
        ]
        for (type, blockSize, typeSize) in expected {
            #expect(type.blockSize == blockSize, "\(type)")
            #expect(type.typeSize == typeSize, "\(type)")
        }
    }

    @Test func idsAndNamesFollowGGML() {
        #expect(GGMLType(rawValue: 3) == .q4_1)
        #expect(GGMLType(rawValue: 30)?.name == "BF16")
        #expect(GGMLType(rawValue: 12)?.description == "Q4_K")
        // Removed formats and unassigned ids are not types.
        for id: UInt32 in [4, 5, 31, 32, 33, 36, 37, 38, 1000] {
            #expect(GGMLType(rawValue: id) == nil, "id \(id)")
        }
        #expect(Set(GGMLType.allCases.map(\.name)).count == GGMLType.allCases.count)
    }

    @Test func byteCountNeedsWholeBlocks() {
        #expect(GGMLType.q4_K.byteCount(elementCount: 512) == 288)
        #expect(GGMLType.q8_0.byteCount(elementCount: 33) == nil)
        #expect(GGMLType.f32.byteCount(elementCount: -1) == nil)
        #expect(GGMLType.f64.byteCount(elementCount: Int.max) == nil)
    }
}
