import Foundation
import GGUF
import Testing

/// Compares the reader with gguf-py's view of the same files, dumped by
/// Tests/Fixtures/gen_gguf_directory.py (run `python3 Tests/Fixtures/make_fixtures.py`).
@Suite struct ReferenceReaderTests {
    static let models = ["SmolLM2-135M-Instruct.Q4_1", "gemma-3-270m-q4_k_m"]

    static func fixture(_ model: String) -> URL { TestPaths.fixture("gguf_directory_\(model).json") }

    static func fixtureExists(_ model: String) -> Bool { TestPaths.exists(fixture(model).path) }

    @Test(.enabled(if: models.allSatisfy(fixtureExists)), arguments: models)
    func directoryMatchesGGUFPy(model: String) throws {
        let data = try Data(contentsOf: Self.fixture(model))
        let reference = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let file = try GGUFFile(path: TestPaths.packageRoot.appendingPathComponent("models/\(model).gguf").path)

        #expect(Int(file.version) == reference["version"] as? Int)
        #expect(file.tensors.count == reference["tensor_count"] as? Int)
        #expect(file.metadataKeys.count == reference["kv_count"] as? Int)
        #expect(file.alignment == reference["alignment"] as? Int)
        #expect(file.dataOffset == reference["data_offset"] as? Int)

        let entries = try #require(reference["metadata"] as? [[String: Any]])
        #expect(file.metadataKeys == entries.compactMap { $0["key"] as? String })
        for entry in entries {
            let key = try #require(entry["key"] as? String)
            let value = try #require(file.metadata[key], "\(key)")
            #expect(value.type.description == entry["type"] as? String, "\(key)")
            if case .array(let array) = value {
                try expectArray(array, matches: entry, key: key)
            } else {
                #expect(Self.matches(value, entry["value"] as Any), "\(key): \(value) vs \(entry["value"] ?? "nil")")
            }
        }

        let tensors = try #require(reference["tensors"] as? [[String: Any]])
        #expect(file.tensors.map(\.name) == tensors.compactMap { $0["name"] as? String })
        for (info, expected) in zip(file.tensors, tensors) {
            #expect(Int(info.type.rawValue) == expected["type"] as? Int, "\(info.name)")
            #expect(info.dimensions == expected["dims"] as? [Int], "\(info.name)")
            #expect(info.offset == expected["offset"] as? Int, "\(info.name)")
            #expect(info.byteCount == expected["n_bytes"] as? Int, "\(info.name)")
            let firstBytes = file.bytes(for: info).prefix(16).map { byte in
                (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }.joined()
            #expect(firstBytes == expected["first_bytes"] as? String, "\(info.name)")
        }
    }

    func expectArray(_ array: GGUFArray, matches entry: [String: Any], key: String) throws {
        #expect(array.elementType.description == entry["element_type"] as? String, "\(key)")
        #expect(array.count == entry["count"] as? Int, "\(key)")
        let head = try #require(entry["head"] as? [Any])
        let tail = try #require(entry["tail"] as? [Any])
        for (index, expected) in head.enumerated() {
            #expect(array.element(at: index).map { Self.matches($0, expected) } == true, "\(key)[\(index)]")
        }
        for (index, expected) in zip(array.count - tail.count ..< array.count, tail) {
            #expect(array.element(at: index).map { Self.matches($0, expected) } == true, "\(key)[\(index)]")
        }
        if let utf8Bytes = entry["utf8_bytes"] as? Int, case .strings(let strings) = array {
            #expect(strings.reduce(0) { $0 + $1.utf8.count } == utf8Bytes, "\(key)")
        }
        if let sum = entry["sum"] as? Double {
            let values: [Double]
            switch array {
            case .float32s(let floats): values = floats.map { Double($0) }
            case .float64s(let doubles): values = doubles
            default: values = try #require(array.integers, "\(key)").map { Double($0) }
            }
            #expect(values.reduce(0, +) == sum, "\(key)")
        }
    }

    static func matches(_ value: GGUFValue, _ json: Any) -> Bool {
        switch value {
        case .string(let string): return json as? String == string
        case .bool(let bool): return json as? Bool == bool
        case .float32(let float): return json as? Double == Double(float)
        case .float64(let double): return json as? Double == double
        case .array: return false
        default: return value.integerValue.map { json as? Int == $0 } ?? false
        }
    }
}
