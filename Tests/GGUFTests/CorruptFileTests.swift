import Foundation
import GGUF
import Testing

/// Damaged and hostile files: each must throw a GGUFError, never crash.
@Suite struct CorruptFileTests {
    /// A small valid file written by GGUFWriter: metadata of several kinds and two tensors.
    static func smallValidFile() throws -> [UInt8] {
        let scratch = try ScratchDirectory()
        var writer = GGUFWriter()
        writer.setValue("general.architecture", .string("llama"))
        writer.setValue("test.count", .uint32(7))
        writer.setValue("test.names", .array(.strings(["a", "bc"])))
        writer.setValue("test.nested", .array(.arrays([.int16s([1, 2])])))
        try writer.addTensor(name: "a", dimensions: [3], floats: [1, 2, 3])
        try writer.addTensor(name: "b", type: .q8_0, dimensions: [32], bytes: [UInt8](repeating: 1, count: 34))
        let path = scratch.path("small.gguf")
        try writer.write(to: path)
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// One F32 tensor of 8 values, with the directory fields given, then `dataBytes` of data.
    static func oneTensorFile(dimensions: [UInt64] = [8], type: UInt32 = GGMLType.f32.rawValue,
                              offset: UInt64 = 0, dataBytes: Int = 32, name: String = "t") -> [UInt8] {
        var raw = RawGGUF(tensorCount: 1, keyValueCount: 0)
        raw.tensorInfo(name, dimensions: dimensions, type: type, offset: offset)
        raw.pad(to: 32)
        raw.zeros(dataBytes)
        return raw.bytes
    }

    static func open(_ bytes: [UInt8]) throws {
        let scratch = try ScratchDirectory()
        _ = try GGUFFile(path: scratch.file("case.gguf", bytes))
    }

    @Test func theCraftedBaselineIsValid() throws {
        try Self.open(Self.oneTensorFile())
        try Self.open(Self.smallValidFile())
    }

    @Test func everyTruncationThrows() throws {
        let bytes = try Self.smallValidFile()
        let scratch = try ScratchDirectory()
        let path = scratch.path("prefix.gguf")
        // The writer pads the last tensor too; the reader does not need that padding.
        let full = try GGUFFile(path: scratch.file("full.gguf", bytes))
        let dataEnd = full.tensors.map { full.dataOffset + $0.offset + $0.byteCount }.max() ?? 0
        #expect(dataEnd < bytes.count)
        for length in 0 ..< bytes.count {
            try Data(bytes[0 ..< length]).write(to: URL(fileURLWithPath: path))
            if length < dataEnd {
                #expect(throws: GGUFError.self, "prefix of \(length) bytes") { try GGUFFile(path: path) }
            } else {
                #expect(throws: Never.self, "prefix of \(length) bytes") { try GGUFFile(path: path) }
            }
        }
    }

    @Test func randomCorruptionNeverCrashes() throws {
        let original = try Self.smallValidFile()
        let scratch = try ScratchDirectory()
        let path = scratch.path("mutant.gguf")
        var generator = SeededGenerator(seed: 2024)
        for _ in 0 ..< 500 {
            var bytes = original
            for _ in 0 ..< Int.random(in: 1 ... 4, using: &generator) {
                let index = Int.random(in: 0 ..< bytes.count, using: &generator)
                bytes[index] = UInt8.random(in: .min ... .max, using: &generator)
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            // Either outcome is fine; a parsed file must describe tensors that lie inside it.
            if let file = try? GGUFFile(path: path) {
                for tensor in file.tensors {
                    #expect(file.dataOffset + tensor.offset + tensor.byteCount <= file.fileSize)
                }
            }
        }
    }

    @Test func badMagic() throws {
        var bytes = Self.oneTensorFile()
        bytes[0 ..< 4] = [0x47, 0x47, 0x4D, 0x4C]
        #expect(throws: GGUFError.badMagic([0x47, 0x47, 0x4D, 0x4C])) { try Self.open(bytes) }
    }

    @Test(arguments: [0, 1, 4, 0x0300_0000] as [UInt32])
    func unsupportedVersion(version: UInt32) throws {
        let bytes = RawGGUF(version: version, tensorCount: 0, keyValueCount: 0).bytes
        #expect(throws: GGUFError.unsupportedVersion(version)) { try Self.open(bytes) }
    }

    @Test func versionTwoIsRead() throws {
        var raw = RawGGUF(version: 2, tensorCount: 0, keyValueCount: 1)
        raw.keyValue("general.alignment", uint32: 16)
        let scratch = try ScratchDirectory()
        let file = try GGUFFile(path: scratch.file("v2.gguf", raw.bytes))
        #expect(file.version == 2)
        #expect(file.alignment == 16)
    }

    @Test func tensorOffsetPastTheEnd() throws {
        #expect(throws: GGUFError.tensorOutOfBounds(name: "t")) { try Self.open(Self.oneTensorFile(offset: 32)) }
        #expect(throws: GGUFError.tensorOutOfBounds(name: "t")) { try Self.open(Self.oneTensorFile(dataBytes: 31)) }
        #expect(throws: GGUFError.tensorOutOfBounds(name: "t")) {
            try Self.open(Self.oneTensorFile(offset: UInt64.max - 31))
        }
        #expect(throws: GGUFError.tensorOutOfBounds(name: "t")) {
            try Self.open(Self.oneTensorFile(offset: UInt64(Int.max) - 31))
        }
    }

    @Test func misalignedTensorOffset() throws {
        #expect(throws: GGUFError.misalignedTensor(name: "t", offset: 4, alignment: 32)) {
            try Self.open(Self.oneTensorFile(offset: 4, dataBytes: 64))
        }
    }

    @Test func unknownTensorType() throws {
        #expect(throws: GGUFError.unknownTensorType(name: "t", id: 4)) { try Self.open(Self.oneTensorFile(type: 4)) }
        #expect(throws: GGUFError.unknownTensorType(name: "t", id: 99)) { try Self.open(Self.oneTensorFile(type: 99)) }
    }

    @Test func invalidTensorShapes() throws {
        #expect(throws: GGUFError.tooManyDimensions(name: "t", count: 5)) {
            try Self.open(Self.oneTensorFile(dimensions: [1, 1, 1, 1, 8]))
        }
        #expect(throws: GGUFError.invalidDimensions(name: "t", dimensions: [-1])) {
            try Self.open(Self.oneTensorFile(dimensions: [UInt64.max]))
        }
        #expect(throws: GGUFError.invalidDimensions(name: "t", dimensions: [1 << 40, 1 << 40])) {
            try Self.open(Self.oneTensorFile(dimensions: [1 << 40, 1 << 40]))
        }
        #expect(throws: GGUFError.partialBlock(name: "t", type: .q4_0, dimensions: [8])) {
            try Self.open(Self.oneTensorFile(type: GGMLType.q4_0.rawValue))
        }
    }

    @Test func duplicateTensorName() throws {
        var raw = RawGGUF(tensorCount: 2, keyValueCount: 0)
        raw.tensorInfo("t", dimensions: [8], type: 0, offset: 0)
        raw.tensorInfo("t", dimensions: [8], type: 0, offset: 32)
        raw.pad(to: 32)
        raw.zeros(64)
        #expect(throws: GGUFError.duplicateTensor("t")) { try Self.open(raw.bytes) }
    }

    @Test func duplicateKey() throws {
        var raw = RawGGUF(tensorCount: 0, keyValueCount: 2)
        raw.keyValue("k", uint32: 1)
        raw.keyValue("k", uint32: 2)
        #expect(throws: GGUFError.duplicateKey("k")) { try Self.open(raw.bytes) }
    }

    @Test func unknownValueType() throws {
        var raw = RawGGUF(tensorCount: 0, keyValueCount: 1)
        raw.string("strange")
        raw.u32(13)
        raw.u32(0)
        #expect(throws: GGUFError.unknownValueType(key: "strange", id: 13)) { try Self.open(raw.bytes) }

        var inArray = RawGGUF(tensorCount: 0, keyValueCount: 1)
        inArray.string("list")
        inArray.u32(GGUFValueType.array.rawValue)
        inArray.u32(0xFFFF_FFFF)
        inArray.u64(0)
        #expect(throws: GGUFError.unknownValueType(key: "list", id: 0xFFFF_FFFF)) { try Self.open(inArray.bytes) }
    }

    @Test func absurdStringLength() throws {
        var raw = RawGGUF(tensorCount: 0, keyValueCount: 1)
        raw.string("k")
        raw.u32(GGUFValueType.string.rawValue)
        let lengthOffset = raw.bytes.count
        raw.u64(UInt64.max)
        raw.zeros(16)
        #expect(throws: GGUFError.absurdCount(at: lengthOffset, count: .max, context: "length of value of 'k'")) {
            try Self.open(raw.bytes)
        }

        var key = RawGGUF(tensorCount: 0, keyValueCount: 1)
        key.u64(1 << 62)
        #expect(throws: GGUFError.self) { try Self.open(key.bytes) }
    }

    @Test func absurdArrayCount() throws {
        var raw = RawGGUF(tensorCount: 0, keyValueCount: 1)
        raw.string("k")
        raw.u32(GGUFValueType.array.rawValue)
        raw.u32(GGUFValueType.uint64.rawValue)
        let countOffset = raw.bytes.count
        raw.u64(1 << 61)  // 2^61 × 8 bytes would overflow a naive size computation
        raw.zeros(64)
        #expect(throws: GGUFError.absurdCount(at: countOffset, count: 1 << 61, context: "array length of 'k'")) {
            try Self.open(raw.bytes)
        }

        // A string array whose count alone would fit the bytes left if strings took 1 byte each.
        var strings = RawGGUF(tensorCount: 0, keyValueCount: 1)
        strings.string("k")
        strings.u32(GGUFValueType.array.rawValue)
        strings.u32(GGUFValueType.string.rawValue)
        strings.u64(20)
        strings.zeros(24)
        #expect(throws: GGUFError.self) { try Self.open(strings.bytes) }
    }

    @Test func absurdHeaderCounts() throws {
        #expect(throws: GGUFError.absurdCount(at: 8, count: .max, context: "tensor count")) {
            try Self.open(RawGGUF(tensorCount: .max, keyValueCount: 0).bytes)
        }
        #expect(throws: GGUFError.absurdCount(at: 16, count: 1 << 40, context: "metadata count")) {
            try Self.open(RawGGUF(tensorCount: 0, keyValueCount: 1 << 40).bytes)
        }
    }

    @Test func arraysNestedTooDeeply() throws {
        var raw = RawGGUF(tensorCount: 0, keyValueCount: 1)
        raw.string("deep")
        raw.u32(GGUFValueType.array.rawValue)
        for _ in 0 ..< 10_000 {
            raw.u32(GGUFValueType.array.rawValue)
            raw.u64(1)
        }
        raw.u32(GGUFValueType.uint8.rawValue)
        raw.u64(0)
        #expect(throws: GGUFError.arrayNestingTooDeep(key: "deep")) { try Self.open(raw.bytes) }
    }

    @Test(arguments: [0, 3, 48] as [UInt32])
    func alignmentMustBeAPowerOfTwo(alignment: UInt32) throws {
        var raw = RawGGUF(tensorCount: 0, keyValueCount: 1)
        raw.keyValue("general.alignment", uint32: alignment)
        #expect(throws: GGUFError.invalidAlignment(key: "general.alignment", value: String(alignment))) {
            try Self.open(raw.bytes)
        }
    }

    @Test func alignmentOfTheWrongType() throws {
        var raw = RawGGUF(tensorCount: 0, keyValueCount: 1)
        raw.string("general.alignment")
        raw.u32(GGUFValueType.string.rawValue)
        raw.string("32")
        #expect(throws: GGUFError.invalidAlignment(key: "general.alignment", value: "\"32\"")) {
            try Self.open(raw.bytes)
        }
    }

    @Test func invalidUTF8IsReplacedNotFatal() throws {
        var raw = RawGGUF(tensorCount: 0, keyValueCount: 1)
        raw.string("k")
        raw.u32(GGUFValueType.string.rawValue)
        raw.u64(3)
        raw.bytes += [0x61, 0xFF, 0x62]
        let scratch = try ScratchDirectory()
        let file = try GGUFFile(path: scratch.file("utf8.gguf", raw.bytes))
        #expect(try file.string("k") == "a\u{FFFD}b")
    }

    @Test func filesThatCannotBeOpened() throws {
        let scratch = try ScratchDirectory()
        #expect(throws: GGUFError.self) { try GGUFFile(path: scratch.path("absent.gguf")) }
        #expect(throws: GGUFError.cannotOpen(path: scratch.url.path, reason: "not a regular file")) {
            try GGUFFile(path: scratch.url.path)
        }
        #expect(throws: GGUFError.truncated(at: 0, needed: 4, context: "magic")) {
            try GGUFFile(path: scratch.file("empty.gguf", []))
        }
    }

    @Test func errorMessagesNameTheCulprit() {
        #expect(GGUFError.unknownTensorType(name: "blk.0.attn_q.weight", id: 99).description.contains("blk.0.attn_q.weight"))
        #expect(GGUFError.typeMismatch(key: "llama.block_count", expected: "integer", found: "string").description
            == "metadata key 'llama.block_count' is string, expected integer")
        #expect(GGUFError.unsupportedVersion(0x0300_0000).description.contains("big-endian"))
        #expect(GGUFError.badMagic([0x00, 0x47, 0xAB, 0x0F]).description.contains("[00 47 AB 0F]"))
        #expect(GGUFError.truncated(at: 10, needed: 8, context: "tensor count").description.contains("tensor count"))
    }
}
