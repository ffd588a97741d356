import Foundation
import GGUF
import Testing

/// The real model files (skipped where models/ has not been fetched).
@Suite struct ModelFileTests {
    @Test(.enabled(if: TestPaths.exists(TestPaths.smolLM2)))
    func smolLM2() throws {
        let file = try GGUFFile(path: TestPaths.smolLM2)
        #expect(file.version == 3)
        #expect(try file.architecture == "llama")
        #expect(file.tensors.count == 272)
        #expect(file.metadataKeys.count == 33)
        #expect(file.alignment == 32)

        let embedding = try file.requiredTensor("token_embd.weight")
        #expect(embedding.type == .q8_0)
        #expect(embedding.dimensions == [576, 49152])
        #expect(embedding.byteCount == 576 * 49152 / 32 * 34)
        let query = try file.requiredTensor("blk.0.attn_q.weight")
        #expect(query.type == .q4_1)
        #expect(query.dimensions == [576, 576])

        #expect(try file.int("llama.block_count") == 30)
        #expect(try file.int("llama.embedding_length") == 576)
        #expect(try file.float("llama.rope.freq_base") == 100_000)
        #expect(try file.string("tokenizer.ggml.model") == "gpt2")
        #expect(try file.stringArray("tokenizer.ggml.tokens").count == 49152)
        #expect(try file.intArray("tokenizer.ggml.token_type").count == 49152)
        #expect(try file.stringArray("tokenizer.ggml.merges").count == 48900)
        #expect(try file.optionalString("tokenizer.chat_template")?.contains("<|im_start|>") == true)
        expectTensorsInsideTheFile(file)
    }

    /// A resident file holds the same bytes as the mapping, from a start on a huge page boundary.
    @Test(.enabled(if: TestPaths.exists(TestPaths.smolLM2)))
    func residentStorageHoldsTheMappedBytes() throws {
        let mapped = try GGUFFile(path: TestPaths.smolLM2, storage: .mapped)
        let resident = try GGUFFile(path: TestPaths.smolLM2, storage: .resident)
        #expect(resident.tensors.count == mapped.tensors.count && resident.metadataKeys == mapped.metadataKeys)
        for (a, b) in zip(mapped.tensors, resident.tensors) {
            #expect(a.name == b.name)
            #expect(memcmp(mapped.data(for: a), resident.data(for: b), a.byteCount) == 0, "\(a.name)")
        }
        #expect(mapped.storage == .mapped && !mapped.residentOnHugePages)
        #expect(resident.storage == .resident)
        let first = resident.tensors[0]
        let fileStart = resident.data(for: first) - resident.dataOffset - first.offset
        #expect(Int(bitPattern: fileStart) % PageRegion.hugePageBytes == 0)
    }

    @Test func residentStorageOfAMissingFileThrows() {
        #expect(throws: GGUFError.self) { try GGUFFile(path: "/nonexistent/model.gguf", storage: .resident) }
    }

    @Test(.enabled(if: TestPaths.exists(TestPaths.gemma3)))
    func gemma3() throws {
        let clock = ContinuousClock()
        let start = clock.now
        let file = try GGUFFile(path: TestPaths.gemma3)
        let openTime = clock.now - start
        // Generous: the 262k-entry vocabulary parses in tens of milliseconds; this catches a
        // per-element slow path, not scheduling noise on a shared machine.
        #expect(openTime < .seconds(3), "opening took \(openTime)")

        #expect(try file.architecture == "gemma3")
        #expect(file.tensors.count == 236)
        #expect(file.metadataKeys.count == 33)
        let embedding = try file.requiredTensor("token_embd.weight")
        #expect(embedding.type == .q8_0)
        #expect(embedding.dimensions == [640, 262144])
        #expect(Set(file.tensors.map(\.type)) == [.f32, .q5_0, .q4_K, .q8_0, .q6_K])
        #expect(try file.stringArray("tokenizer.ggml.tokens").count == 262_144)
        #expect(try file.floatArray("tokenizer.ggml.scores").count == 262_144)
        #expect(try file.int("gemma3.attention.sliding_window") > 0)
        expectTensorsInsideTheFile(file)
    }

    func expectTensorsInsideTheFile(_ file: GGUFFile) {
        for tensor in file.tensors {
            #expect(tensor.offset % file.alignment == 0, "\(tensor.name)")
            #expect(file.dataOffset + tensor.offset + tensor.byteCount <= file.fileSize, "\(tensor.name)")
            let bytes = file.bytes(for: tensor)
            #expect(bytes.count == tensor.byteCount)
            #expect(file.data(for: tensor) == bytes.baseAddress)
        }
    }
}
