import Adapters
import Foundation
import GGUF
import Model
import Testing

/// A llama-shaped config small enough to build adapters for by hand.
let tinyConfig = ModelConfig(architecture: .llama, embeddingLength: 32, blockCount: 2, feedForwardLength: 48,
                             headCount: 4, headCountKV: 2, headDim: 8, valueDim: 8, contextLength: 64,
                             vocabularySize: 64, ropeDimensionCount: 8, ropeFreqBase: 10_000, normEpsilon: 1e-6)

func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("raconteur-adapters-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

func filledAdapter(rank: Int = 4, seed: UInt64 = 1, projections: [Projection] = Projection.allCases) -> LoRAAdapter {
    let adapter = LoRAAdapter.initialised(config: tinyConfig, rank: rank, alpha: Float(2 * rank),
                                          projections: projections, seed: seed)
    var x = seed
    for (_, m) in adapter.orderedMatrices {
        for i in 0..<(m.outputs * m.rank) {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            m.b[i] = Float(Int64(bitPattern: x >> 11) % 1000) / 10_000
        }
    }
    return adapter
}

struct AdapterFileTests {
    @Test func roundTripPreservesTensorsAndMetadata() throws {
        let adapter = filledAdapter()
        let metadata = AdapterMetadata(objectives: ["concise", "detailed"], weights: [0.75, 0.25], method: "raco",
                                       version: 3, baseFingerprint: "fnv1a64:abc")
        let path = temporaryPath("a.gguf")
        try AdapterFile.write(adapter, metadata: metadata, architecture: "llama", to: path)
        let (read, readMetadata) = try AdapterFile.read(path: path, config: tinyConfig, baseFingerprint: "fnv1a64:abc")
        #expect(readMetadata == metadata)
        #expect(read.rank == adapter.rank && read.alpha == adapter.alpha)
        #expect(Set(read.matrices.keys) == Set(adapter.matrices.keys))
        for (target, m) in adapter.matrices {
            let r = try #require(read.matrices[target])
            #expect(Array(UnsafeBufferPointer(start: r.a, count: m.rank * m.inputs)) == Array(UnsafeBufferPointer(start: m.a, count: m.rank * m.inputs)))
            #expect(Array(UnsafeBufferPointer(start: r.b, count: m.rank * m.outputs)) == Array(UnsafeBufferPointer(start: m.b, count: m.rank * m.outputs)))
        }
    }

    @Test func fileUsesLlamaCppLayout() throws {
        let path = temporaryPath("layout.gguf")
        try AdapterFile.write(filledAdapter(projections: [.query]), metadata: AdapterMetadata(), architecture: "llama", to: path)
        let file = try GGUFFile(path: path)
        #expect(try file.string("general.type") == "adapter")
        #expect(try file.string("adapter.type") == "lora")
        #expect(try file.float("adapter.lora.alpha") == 8)
        #expect(file.tensor("blk.0.attn_q.weight.lora_a")?.dimensions == [32, 4])   // [inputs, rank]
        #expect(file.tensor("blk.0.attn_q.weight.lora_b")?.dimensions == [4, 32])   // [rank, outputs]
    }

    @Test func rejectsAnAdapterForAnotherBaseModel() throws {
        let path = temporaryPath("fp.gguf")
        try AdapterFile.write(filledAdapter(), metadata: AdapterMetadata(baseFingerprint: "fnv1a64:1"), architecture: "llama", to: path)
        #expect(throws: AdapterError.baseModelMismatch(expected: "fnv1a64:1", found: "fnv1a64:2")) {
            try AdapterFile.read(path: path, config: tinyConfig, baseFingerprint: "fnv1a64:2")
        }
    }

    @Test func rejectsAnotherArchitecture() throws {
        let path = temporaryPath("arch.gguf")
        try AdapterFile.write(filledAdapter(), metadata: AdapterMetadata(), architecture: "gemma3", to: path)
        #expect(throws: AdapterError.architectureMismatch(adapter: "gemma3", model: "llama")) {
            try AdapterFile.read(path: path, config: tinyConfig)
        }
    }

    func writeRaw(_ tensors: [(String, [Int])], type: String = "adapter") throws -> String {
        var w = GGUFWriter()
        w.setValue("general.architecture", .string("llama"))
        w.setValue("general.type", .string(type))
        w.setValue("adapter.type", .string("lora"))
        for (name, dims) in tensors {
            try w.addTensor(name: name, dimensions: dims, floats: [Float](repeating: 0.5, count: dims.reduce(1, *)))
        }
        let path = temporaryPath("raw.gguf")
        try w.write(to: path)
        return path
    }

    @Test func rejectsShapesThatDoNotFitTheModel() throws {
        let path = try writeRaw([("blk.0.attn_q.weight.lora_a", [31, 4]), ("blk.0.attn_q.weight.lora_b", [4, 32])])
        #expect(throws: AdapterError.self) { try AdapterFile.read(path: path, config: tinyConfig) }
        let b = try writeRaw([("blk.0.attn_k.weight.lora_a", [32, 4]), ("blk.0.attn_k.weight.lora_b", [4, 32])])
        #expect(throws: AdapterError.shapeMismatch(tensor: "blk.0.attn_k.weight.lora_b", expected: [4, 16], found: [4, 32])) {
            try AdapterFile.read(path: b, config: tinyConfig)
        }
    }

    @Test func rejectsUnknownUnpairedAndOversizedTensors() throws {
        let unknown = try writeRaw([("blk.9.attn_q.weight.lora_a", [32, 4]), ("blk.9.attn_q.weight.lora_b", [4, 32])])
        #expect(throws: AdapterError.unknownTensor("blk.9.attn_q.weight.lora_a")) { try AdapterFile.read(path: unknown, config: tinyConfig) }
        let unpaired = try writeRaw([("blk.0.attn_q.weight.lora_a", [32, 4])])
        #expect(throws: AdapterError.unpairedTensor("blk.0.attn_q.weight.lora_a")) { try AdapterFile.read(path: unpaired, config: tinyConfig) }
        let big = try writeRaw([("blk.0.attn_q.weight.lora_a", [32, 65]), ("blk.0.attn_q.weight.lora_b", [65, 32])])
        #expect(throws: AdapterError.rankOutOfRange(65)) { try AdapterFile.read(path: big, config: tinyConfig) }
        let model = try writeRaw([("blk.0.attn_q.weight.lora_a", [32, 4]), ("blk.0.attn_q.weight.lora_b", [4, 32])], type: "model")
        #expect(throws: AdapterError.self) { try AdapterFile.read(path: model, config: tinyConfig) }
    }

    @Test func rejectsNonFiniteValues() throws {
        for bad in [Float.nan, .infinity, -.infinity] {
            let adapter = filledAdapter()
            adapter.matrices[LoRATarget(layer: 1, projection: .value)]!.b[5] = bad
            let metadata = AdapterMetadata(objectives: ["concise"], weights: [1], method: "raco", version: 1,
                                           baseFingerprint: "fnv1a64:abc")
            let path = temporaryPath("bad.gguf")
            try AdapterFile.write(adapter, metadata: metadata, architecture: "llama", to: path)
            #expect(throws: AdapterError.nonFiniteValue(tensor: "blk.1.attn_v.weight.lora_b")) {
                try AdapterFile.read(path: path, config: tinyConfig, baseFingerprint: "fnv1a64:abc")
            }
        }
    }

    @Test func aHalfWrittenFileIsNeverLoaded() throws {
        let path = temporaryPath("whole.gguf")
        try AdapterFile.write(filledAdapter(), metadata: AdapterMetadata(), architecture: "llama", to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
            let truncated = temporaryPath("cut.gguf")
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: truncated))
            #expect(throws: AdapterError.self) { try AdapterFile.read(path: truncated, config: tinyConfig) }
        }
    }
}
