// Dequantize against gguf-py: raw blocks and the floats gguf.quants.dequantize makes of them
// (Tests/Fixtures/gen_dequant.py writes both sets).
import Foundation
import Kernels
import Testing

/// One case of a fixture set: `count` values of `type` stored as raw blocks, with their expected floats.
struct DequantFixtureCase: Decodable {
    let name: String
    let type: String
    let type_id: UInt32
    let count: Int
    let blocks: String
    let values: String
    let source: String
}

/// A directory holding `index.json` plus the `.blocks` and `.f32` files it names.
struct DequantFixtureSet {
    let directory: URL
    let cases: [DequantFixtureCase]

    /// Package root: Tests/KernelsTests/<this file> is three levels below it.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Committed random blocks for every format (Tests/Fixtures/dequant).
    static func synthetic() throws -> DequantFixtureSet {
        try load(packageRoot.appendingPathComponent("Tests/Fixtures/dequant"),
                 missing: "committed fixtures are missing: regenerate them with `python3 Tests/Fixtures/gen_dequant.py --synthetic`")
    }

    /// Rows of real model tensors (Tests/Fixtures/generated/dequant, git-ignored).
    static func fromModels() throws -> DequantFixtureSet {
        try load(packageRoot.appendingPathComponent("Tests/Fixtures/generated/dequant"),
                 missing: "generated fixtures are missing: run `python3 Tests/Fixtures/make_fixtures.py` (after models/fetch.py)")
    }

    private static func load(_ directory: URL, missing: String) throws -> DequantFixtureSet {
        let index = directory.appendingPathComponent("index.json")
        guard FileManager.default.fileExists(atPath: index.path) else {
            throw FixtureError(message: "\(index.path): \(missing)")
        }
        struct Index: Decodable { let cases: [DequantFixtureCase] }
        let decoded = try JSONDecoder().decode(Index.self, from: Data(contentsOf: index))
        return DequantFixtureSet(directory: directory, cases: decoded.cases)
    }

    func quantType(of fixture: DequantFixtureCase) throws -> QuantType {
        guard let type = QuantType(ggmlID: fixture.type_id) else {
            throw FixtureError(message: "\(fixture.name): unknown type id \(fixture.type_id) (\(fixture.type))")
        }
        return type
    }

    func blockBytes(of fixture: DequantFixtureCase) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(fixture.blocks)))
    }

    func expectedValues(of fixture: DequantFixtureCase) throws -> [Float] {
        let data = try Data(contentsOf: directory.appendingPathComponent(fixture.values))
        return data.withUnsafeBytes { raw in
            (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Formats whose decoding is a single exact operation (a widening, or one product of two floats
/// whose result gguf-py computes the same way): their floats must match bit for bit.
func decodesExactly(_ type: QuantType) -> Bool {
    switch type {
    case .f32, .f16, .bf16, .q8_0, .q8_1, .q8_K: return true
    default: return false
    }
}

/// Compares decoded floats with expected ones: bit-exact (NaN matching any NaN) for the exact
/// formats, within 1e-6 absolute or relative for the others. Returns the largest difference seen.
@discardableResult
func expectMatches(_ actual: [Float], _ expected: [Float], type: QuantType, name: String) -> Float {
    #expect(actual.count == expected.count, "\(name): \(actual.count) values, expected \(expected.count)")
    var worst: Float = 0
    var reported = 0
    for i in 0..<min(actual.count, expected.count) {
        let a = actual[i], e = expected[i]
        let ok: Bool
        if a.isNaN || e.isNaN {
            ok = a.isNaN && e.isNaN
        } else if decodesExactly(type) {
            ok = a.bitPattern == e.bitPattern
        } else {
            let difference = abs(a - e)
            worst = max(worst, difference)
            ok = difference <= 1e-6 || difference <= 1e-6 * abs(e)
        }
        if !ok && reported < 5 {
            reported += 1
            Issue.record("\(name) (\(type)): value \(i) is \(a) (0x\(String(a.bitPattern, radix: 16))), expected \(e) (0x\(String(e.bitPattern, radix: 16)))")
        }
    }
    return worst
}

/// Decodes one fixture case with `decode` into a buffer guarded by sentinels on both sides, checks
/// that nothing outside the `count` values was written, and returns the decoded floats.
func decodeGuarded(_ bytes: [UInt8], count: Int, name: String,
                   _ decode: (UnsafeRawPointer, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    let guardCount = 16
    let sentinel = Float(bitPattern: 0x7FC0_DEAD)
    var buffer = [Float](repeating: sentinel, count: count + 2 * guardCount)
    bytes.withUnsafeBytes { raw in
        buffer.withUnsafeMutableBufferPointer { out in
            decode(raw.baseAddress!, out.baseAddress! + guardCount)
        }
    }
    let guards = buffer[..<guardCount] + buffer[(guardCount + count)...]
    #expect(guards.allSatisfy { $0.bitPattern == sentinel.bitPattern }, "\(name): wrote outside its \(count) values")
    return Array(buffer[guardCount..<(guardCount + count)])
}

/// Decodes every case of `set` with both `Dequantize.row` and `Dequantize.referenceRow`, compares
/// each with gguf-py's floats, and returns the formats the set covers.
func expectBothDecodersMatch(_ set: DequantFixtureSet) throws -> Set<QuantType> {
    var seen = Set<QuantType>()
    for fixture in set.cases {
        let type = try set.quantType(of: fixture)
        seen.insert(type)
        let bytes = try set.blockBytes(of: fixture)
        let expected = try set.expectedValues(of: fixture)
        let fast = decodeGuarded(bytes, count: fixture.count, name: fixture.name) {
            Dequantize.row(type, $0, $1, fixture.count)
        }
        expectMatches(fast, expected, type: type, name: fixture.name)
        let reference = decodeGuarded(bytes, count: fixture.count, name: "\(fixture.name) (reference)") {
            Dequantize.referenceRow(type, $0, $1, fixture.count)
        }
        expectMatches(reference, expected, type: type, name: "\(fixture.name) (reference)")
    }
    return seen
}

@Suite struct DequantizeFixtureTests {
    @Test func syntheticBlocksOfEveryFormatMatchGGUFPy() throws {
        let seen = try expectBothDecodersMatch(try DequantFixtureSet.synthetic())
        #expect(seen == Set(QuantType.allCases), "formats without synthetic fixtures: \(Set(QuantType.allCases).subtracting(seen))")
    }

    @Test func modelTensorRowsMatchGGUFPy() throws {
        let seen = try expectBothDecodersMatch(try DequantFixtureSet.fromModels())
        // The two models between them hold these six formats.
        #expect(seen == [.f32, .q4_1, .q8_0, .q5_0, .q4_K, .q6_K])
    }

    @Test func rowsDecodesAMatrixRowByRow() throws {
        let set = try DequantFixtureSet.fromModels()
        for fixture in set.cases {
            let type = try set.quantType(of: fixture)
            // 2-D tensors contribute two rows; split the values back into them.
            guard type != .f32 else { continue }
            let rowLength = fixture.count / 2
            let actual = decodeGuarded(try set.blockBytes(of: fixture), count: fixture.count, name: fixture.name) {
                Dequantize.rows(type, $0, rowCount: 2, rowLength: rowLength, $1)
            }
            expectMatches(actual, try set.expectedValues(of: fixture), type: type, name: fixture.name)
        }
    }

    @Test func fixtureByteSizesMatchQuantType() throws {
        for set in [try DequantFixtureSet.synthetic(), try DequantFixtureSet.fromModels()] {
            for fixture in set.cases {
                let type = try set.quantType(of: fixture)
                #expect(type.description == fixture.type, "\(fixture.name): id \(fixture.type_id) is \(type), file says \(fixture.type)")
                #expect(fixture.count % type.blockSize == 0, "\(fixture.name)")
                #expect(try set.blockBytes(of: fixture).count == type.byteCount(for: fixture.count), "\(fixture.name)")
                #expect(try set.expectedValues(of: fixture).count == fixture.count, "\(fixture.name)")
            }
        }
    }
}
