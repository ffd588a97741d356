import Foundation
import GGUF
import Testing

@Suite struct RoundTripTests {
    /// Every value type, edge values, empty and nested arrays, empty and non-ASCII strings.
    static let everyValue: [(String, GGUFValue)] = [
        ("general.architecture", .string("llama")),
        ("test.uint8", .uint8(.max)),
        ("test.int8", .int8(.min)),
        ("test.uint16", .uint16(.max)),
        ("test.int16", .int16(.min)),
        ("test.uint32", .uint32(.max)),
        ("test.int32", .int32(.min)),
        ("test.uint64", .uint64(.max)),
        ("test.int64", .int64(.min)),
        ("test.float32", .float32(-0.0)),
        ("test.float32.tiny", .float32(.leastNonzeroMagnitude)),
        ("test.float32.infinity", .float32(-.infinity)),
        ("test.float64", .float64(.greatestFiniteMagnitude)),
        ("test.bool.true", .bool(true)),
        ("test.bool.false", .bool(false)),
        ("test.string.empty", .string("")),
        ("test.string.unicode", .string("héllo 🌊 日本語\n\t\u{0}end")),
        ("", .string("an empty key")),
        ("test.array.uint8", .array(.uint8s([0, 1, 255]))),
        ("test.array.int8", .array(.int8s([-128, 0, 127]))),
        ("test.array.uint16", .array(.uint16s([0, 65535]))),
        ("test.array.int16", .array(.int16s([-32768, 32767]))),
        ("test.array.uint32", .array(.uint32s([1, .max]))),
        ("test.array.int32", .array(.int32s([.min, -1, 0, .max]))),
        ("test.array.uint64", .array(.uint64s([.max]))),
        ("test.array.int64", .array(.int64s([.min, 42]))),
        ("test.array.float32", .array(.float32s([1.5, -2.25, .infinity]))),
        ("test.array.float64", .array(.float64s([.pi, -0.0]))),
        ("test.array.bool", .array(.bools([true, false, true]))),
        ("test.array.string", .array(.strings(["", "a", "ünïcödé", "🙂🙃"]))),
        ("test.array.empty.uint8", .array(.uint8s([]))),
        ("test.array.empty.float32", .array(.float32s([]))),
        ("test.array.empty.string", .array(.strings([]))),
        ("test.array.empty.array", .array(.arrays([]))),
        ("test.array.nested", .array(.arrays([
            .int32s([1, 2, 3]),
            .strings(["x", ""]),
            .arrays([]),
            .arrays([.float64s([0.5]), .bools([])]),
        ]))),
    ]

    struct TensorSpec {
        var name: String
        var type: GGMLType
        var dimensions: [Int]
    }

    /// Several formats with sizes that are not multiples of the alignment.
    static let tensorSpecs: [TensorSpec] = [
        TensorSpec(name: "f32.odd", type: .f32, dimensions: [3]),
        TensorSpec(name: "f16.matrix", type: .f16, dimensions: [5, 3]),
        TensorSpec(name: "q8_0.rows", type: .q8_0, dimensions: [32, 3]),
        TensorSpec(name: "q4_1.row", type: .q4_1, dimensions: [64]),
        TensorSpec(name: "q4_k.block", type: .q4_K, dimensions: [256, 1]),
        TensorSpec(name: "q6_k.blocks", type: .q6_K, dimensions: [512]),
        TensorSpec(name: "i8.bytes", type: .i8, dimensions: [7]),
        TensorSpec(name: "bf16.4d", type: .bf16, dimensions: [2, 3, 1, 2]),
        TensorSpec(name: "empty", type: .f32, dimensions: [0, 4]),
        TensorSpec(name: "unicode ✓ name", type: .f32, dimensions: [1]),
    ]

    static func writer(alignment: UInt32?) throws -> (GGUFWriter, [String: [UInt8]]) {
        var writer = GGUFWriter()
        for (key, value) in everyValue { writer.setValue(key, value) }
        if let alignment { writer.setValue("general.alignment", .uint32(alignment)) }
        var generator = SeededGenerator(seed: 7)
        var tensorBytes: [String: [UInt8]] = [:]
        for spec in tensorSpecs {
            let count = spec.dimensions.reduce(1, *) / spec.type.blockSize * spec.type.typeSize
            let bytes = randomBytes(count, using: &generator)
            try writer.addTensor(name: spec.name, type: spec.type, dimensions: spec.dimensions, bytes: bytes)
            tensorBytes[spec.name] = bytes
        }
        return (writer, tensorBytes)
    }

    @Test(arguments: [nil, 1, 8, 64, 4096] as [UInt32?])
    func everythingWrittenReadsBack(alignment: UInt32?) throws {
        let scratch = try ScratchDirectory()
        let (writer, tensorBytes) = try Self.writer(alignment: alignment)
        let path = scratch.path("roundtrip.gguf")
        try writer.write(to: path)

        let file = try GGUFFile(path: path)
        let expectedAlignment = Int(alignment ?? 32)
        #expect(file.version == 3)
        #expect(file.alignment == expectedAlignment)
        #expect(file.dataOffset % expectedAlignment == 0)
        #expect(file.fileSize % expectedAlignment == 0, "every tensor is padded, the last one too")
        #expect(file.metadataKeys == writer.metadataKeys)
        #expect(file.metadata == writer.metadata)
        for (key, value) in Self.everyValue {
            #expect(file.metadata[key] == value, "\(key)")
        }

        #expect(file.tensors.map(\.name) == Self.tensorSpecs.map(\.name))
        for spec in Self.tensorSpecs {
            let info = try #require(file.tensor(spec.name))
            #expect(info.type == spec.type)
            #expect(info.dimensions == spec.dimensions)
            #expect(info.elementCount == spec.dimensions.reduce(1, *))
            #expect(info.offset % expectedAlignment == 0)
            #expect(Array(file.bytes(for: info)) == tensorBytes[spec.name])
            #expect(file.data(for: info) == file.bytes(for: info).baseAddress)
        }
        #expect(try scratch.contents() == ["roundtrip.gguf"], "no temporary file is left behind")
    }

    @Test func settingAKeyAgainKeepsItsPlace() throws {
        var writer = GGUFWriter()
        writer.setValue("a", .uint8(1))
        writer.setValue("b", .uint8(2))
        writer.setValue("a", .string("replaced"))
        #expect(writer.metadataKeys == ["a", "b"])
        #expect(writer.metadata["a"] == .string("replaced"))
    }

    @Test func rewritingReplacesTheWholeFile() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("model.gguf")
        var first = GGUFWriter()
        first.setValue("general.architecture", .string("first"))
        try first.addTensor(name: "w", dimensions: [4], floats: [1, 2, 3, 4])
        try first.write(to: path)

        var second = GGUFWriter()
        second.setValue("general.architecture", .string("second"))
        try second.write(to: path)

        let file = try GGUFFile(path: path)
        #expect(try file.architecture == "second")
        #expect(file.tensors.isEmpty)
        #expect(try scratch.contents() == ["model.gguf"])
    }

    @Test func floatTensorsAreLittleEndianF32() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("floats.gguf")
        var writer = GGUFWriter()
        try writer.addTensor(name: "w", dimensions: [3, 2], floats: [1, -2, 0.5, 3, 4, 5])
        try writer.write(to: path)
        let file = try GGUFFile(path: path)
        let info = try file.requiredTensor("w")
        #expect(info.type == .f32)
        let floats = file.bytes(for: info).withMemoryRebound(to: Float.self) { Array($0) }
        #expect(floats == [1, -2, 0.5, 3, 4, 5])
        #expect(throws: GGUFError.missingTensor("absent")) { try file.requiredTensor("absent") }
    }

    @Test func writerRejectsInvalidTensors() throws {
        var writer = GGUFWriter()
        try writer.addTensor(name: "t", type: .f32, dimensions: [2], bytes: [UInt8](repeating: 0, count: 8))
        #expect(throws: GGUFError.duplicateTensor("t")) {
            try writer.addTensor(name: "t", type: .f32, dimensions: [2], bytes: [UInt8](repeating: 0, count: 8))
        }
        #expect(throws: GGUFError.tensorSizeMismatch(name: "short", expected: 8, actual: 7)) {
            try writer.addTensor(name: "short", type: .f32, dimensions: [2], bytes: [UInt8](repeating: 0, count: 7))
        }
        #expect(throws: GGUFError.partialBlock(name: "q", type: .q8_0, dimensions: [31])) {
            try writer.addTensor(name: "q", type: .q8_0, dimensions: [31], bytes: [])
        }
        #expect(throws: GGUFError.tooManyDimensions(name: "5d", count: 5)) {
            try writer.addTensor(name: "5d", type: .f32, dimensions: [1, 1, 1, 1, 1], bytes: [0, 0, 0, 0])
        }
        #expect(throws: GGUFError.invalidDimensions(name: "negative", dimensions: [-2])) {
            try writer.addTensor(name: "negative", type: .f32, dimensions: [-2], bytes: [])
        }
        #expect(throws: GGUFError.self) {
            try writer.addTensor(name: "huge", type: .f32, dimensions: [Int.max, 2], bytes: [])
        }
        try writer.addTensor(name: "data", type: .i8, dimensions: [3], bytes: Data([1, 2, 3]))
    }

    @Test func writerRejectsAnAlignmentThatIsNotAPowerOfTwo() throws {
        let scratch = try ScratchDirectory()
        var writer = GGUFWriter()
        writer.setValue("general.alignment", .uint32(24))
        #expect(throws: GGUFError.invalidAlignment(key: "general.alignment", value: "24")) {
            try writer.write(to: scratch.path("bad.gguf"))
        }
        #expect(try scratch.contents().isEmpty)
    }

    @Test func writerRefusesArraysNestedDeeperThanTheReaderAccepts() throws {
        let scratch = try ScratchDirectory()
        var deep = GGUFArray.uint8s([])
        for _ in 0 ..< 32 { deep = .arrays([deep]) }
        var writer = GGUFWriter()
        writer.setValue("deep", .array(deep))
        #expect(throws: GGUFError.arrayNestingTooDeep(key: "deep")) { try writer.write(to: scratch.path("deep.gguf")) }

        // One level less is the deepest that round-trips.
        guard case .arrays(let inner) = deep, let shallower = inner.first else { return }
        writer.setValue("deep", .array(shallower))
        try writer.write(to: scratch.path("deep.gguf"))
        #expect(try GGUFFile(path: scratch.path("deep.gguf")).metadata["deep"] == .array(shallower))
    }

    @Test func writingIntoAMissingDirectoryFails() throws {
        let writer = GGUFWriter()
        #expect(throws: GGUFError.self) { try writer.write(to: "/nonexistent-dir-for-gguf-tests/x.gguf") }
    }
}
