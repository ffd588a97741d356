import GGUF
import Testing

@Suite struct MetadataAccessorTests {
    static func file() throws -> (GGUFFile, ScratchDirectory) {
        var writer = GGUFWriter()
        writer.setValue("general.architecture", .string("qwen3"))
        writer.setValue("u8", .uint8(200))
        writer.setValue("i16", .int16(-5))
        writer.setValue("u64.big", .uint64(.max))
        writer.setValue("i64", .int64(-1 << 40))
        writer.setValue("f32", .float32(0.25))
        writer.setValue("f64", .float64(1e-6))
        writer.setValue("flag", .bool(true))
        writer.setValue("name", .string("x"))
        writer.setValue("names", .array(.strings(["a", "b"])))
        writer.setValue("scores", .array(.float32s([0.5, -1])))
        writer.setValue("doubles", .array(.float64s([2, 3])))
        writer.setValue("ids", .array(.int32s([1, -2, 3])))
        writer.setValue("ids.u64", .array(.uint64s([1, .max])))
        writer.setValue("empty", .array(.uint8s([])))
        let scratch = try ScratchDirectory()
        let path = scratch.path("metadata.gguf")
        try writer.write(to: path)
        return (try GGUFFile(path: path), scratch)
    }

    @Test func requiredAccessorsConvertCompatibleTypes() throws {
        let (file, _) = try Self.file()
        #expect(try file.architecture == "qwen3")
        #expect(try file.int("u8") == 200)
        #expect(try file.int("i16") == -5)
        #expect(try file.int("i64") == -1 << 40)
        #expect(try file.float("f32") == 0.25)
        #expect(try file.float("f64") == Float(1e-6))
        #expect(try file.float("u8") == 200)
        #expect(try file.float("u64.big") == Float(UInt64.max))
        #expect(try file.bool("flag"))
        #expect(try file.string("name") == "x")
        #expect(try file.stringArray("names") == ["a", "b"])
        #expect(try file.floatArray("scores") == [0.5, -1])
        #expect(try file.floatArray("doubles") == [2, 3])
        #expect(try file.floatArray("ids") == [1, -2, 3])
        #expect(try file.intArray("ids") == [1, -2, 3])
        #expect(try file.intArray("empty") == [])
    }

    @Test func requiredAccessorsReportWhatIsWrong() throws {
        let (file, _) = try Self.file()
        #expect(throws: GGUFError.missingKey("absent")) { try file.int("absent") }
        #expect(throws: GGUFError.typeMismatch(key: "name", expected: "integer", found: "string")) { try file.int("name") }
        #expect(throws: GGUFError.typeMismatch(key: "f32", expected: "integer", found: "float32")) { try file.int("f32") }
        #expect(throws: GGUFError.valueOutOfRange(key: "u64.big", value: "18446744073709551615")) { try file.int("u64.big") }
        #expect(throws: GGUFError.typeMismatch(key: "u8", expected: "string", found: "uint8")) { try file.string("u8") }
        #expect(throws: GGUFError.typeMismatch(key: "flag", expected: "number", found: "bool")) { try file.float("flag") }
        #expect(throws: GGUFError.typeMismatch(key: "u8", expected: "bool", found: "uint8")) { try file.bool("u8") }
        #expect(throws: GGUFError.typeMismatch(key: "ids", expected: "array of string", found: "array of int32")) {
            try file.stringArray("ids")
        }
        #expect(throws: GGUFError.typeMismatch(key: "name", expected: "array of integers", found: "string")) {
            try file.intArray("name")
        }
        #expect(throws: GGUFError.typeMismatch(key: "scores", expected: "array of integers", found: "array of float32")) {
            try file.intArray("scores")
        }
        #expect(throws: GGUFError.typeMismatch(key: "names", expected: "array of numbers", found: "array of string")) {
            try file.floatArray("names")
        }
        #expect(throws: GGUFError.self) { try file.intArray("ids.u64") }
        let architectureless = GGUFWriter()
        let scratch = try ScratchDirectory()
        try architectureless.write(to: scratch.path("bare.gguf"))
        #expect(throws: GGUFError.missingKey("general.architecture")) {
            try GGUFFile(path: scratch.path("bare.gguf")).architecture
        }
    }

    @Test func optionalAccessorsReturnNilOnlyWhenAbsent() throws {
        let (file, _) = try Self.file()
        #expect(try file.optionalString("absent") == nil)
        #expect(try file.optionalInt("absent") == nil)
        #expect(try file.optionalFloat("absent") == nil)
        #expect(try file.optionalBool("absent") == nil)
        #expect(try file.optionalString("name") == "x")
        #expect(try file.optionalInt("u8") == 200)
        #expect(try file.optionalFloat("f32") == 0.25)
        #expect(try file.optionalBool("flag") == true)
        #expect(throws: GGUFError.typeMismatch(key: "name", expected: "bool", found: "string")) { try file.optionalBool("name") }
        #expect(throws: GGUFError.typeMismatch(key: "flag", expected: "integer", found: "bool")) { try file.optionalInt("flag") }
    }
}

@Suite struct ValueDescriptionTests {
    @Test func valuesDescribeThemselvesForMessages() {
        #expect(GGUFValue.uint32(7).description == "7")
        #expect(GGUFValue.float32(0.5).description == "0.5")
        #expect(GGUFValue.bool(false).description == "false")
        #expect(GGUFValue.string("it's \"x\"\n\u{1}").description == #""it's \"x\"\n\u{1}""#)
        #expect(GGUFValue.array(.strings(["a", "b"])).description == "array of string (2 elements)")
        #expect(GGUFValue.array(.arrays([])).typeName == "array of array")
    }
}
