import Foundation
import GGUF
@testable import Model
import Testing
import Tokenizers

/// Two model families added from a test, in this file only: registering a description is all a family needs
/// (Sources/Model/Architectures). `toyllama` is llama under another name; `toyneox` is llama with RoPE on halves,
/// its own end-of-turn token and Gemma's chat format as its fallback.
extension Architecture {
    static let toyLlama: Architecture = {
        var a = Architecture.llama
        a.name = "toyllama"
        return a
    }()

    static let toyNeox: Architecture = {
        var a = Architecture.llama
        a.name = "toyneox"
        a.ropeStyle = .halves
        a.endOfTurnTokens = ["<|toy_end|>"]
        a.chatTemplateFallback = .gemma
        return a
    }()
}

@Suite(.serialized)
struct ToyArchitectureTests {
    /// Registration before loading; registering the same description again (each test's init) does nothing.
    init() throws {
        try ArchitectureRegistry.register(.toyLlama)
        try ArchitectureRegistry.register(.toyNeox)
    }

    static let tokens = [1, 17, 5, 42, 9, 63, 0, 28, 33, 12, 7, 50]

    /// Every row's logits of `tokens` from the tiny model of `architecture` (TinyModelTests' weights, seed 7).
    static func logits(_ architecture: Architecture, in dir: URL) throws -> (model: TransformerModel, logits: [Float]) {
        let model = try TransformerModel(path: TinyModelTests.write(TinyModelTests.Shape(architecture: architecture),
                                                                    seed: 7, to: dir), threads: 2)
        let cache = model.makeCache(capacity: tokens.count)
        var batch = ForwardBatch()
        batch.append(sequence: 0, tokens: tokens, startingAt: 0, logitsForLast: false)
        batch.logitRows = Array(tokens.indices)
        return (model, try model.forward(batch, caches: [cache]))
    }

    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("raconteur-toy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func aRenamedLlamaLoadsAndComputesLlamasLogits() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (toy, toyLogits) = try Self.logits(.toyLlama, in: dir)
        let (_, llamaLogits) = try Self.logits(.llama, in: dir)
        #expect(toy.config.architecture == .toyLlama)
        #expect(toy.config.ropeStyle == .adjacentPairs && !toy.config.hasQKNorm)
        #expect(toyLogits.count == Self.tokens.count * 64)
        #expect(toyLogits == llamaLogits)

        // The training graph reads the same description.
        let pair = SequencePair(prompt: [Self.tokens[0]], response: Array(Self.tokens.dropFirst()))
        let empty = LoRAParameterLayout(config: toy.config, rank: 1, alpha: 1, projections: [])
        func trainingLogits(_ model: TransformerModel) throws -> [Float] {
            let scorer = SequenceScorer<Float>(model: model, threads: 2)
            _ = try scorer.forward([pair], parameters: [], layout: empty)
            return scorer.lastLogits()
        }
        let llama = try TransformerModel(path: dir.appendingPathComponent("tiny-llama.gguf").path, threads: 2)
        #expect(try trainingLogits(toy) == trainingLogits(llama))
    }

    @Test func theOneChangedChoiceIsTheOneApplied() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (toy, toyLogits) = try Self.logits(.toyNeox, in: dir)
        let (_, llamaLogits) = try Self.logits(.llama, in: dir)
        #expect(toy.config.ropeStyle == .halves)
        #expect(toyLogits.allSatisfy { $0.isFinite })
        // RoPE at position 0 is the identity, whatever pairs it rotates: the first row agrees, the later ones not.
        let vocab = toy.config.vocabularySize
        #expect(toyLogits[..<vocab] == llamaLogits[..<vocab])
        #expect(toyLogits[vocab...] != llamaLogits[vocab...])
    }

    @Test func theTokenizerAndChatFallbackFollowTheFamily() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        func vocabularyFile(_ architecture: String) throws -> GGUFFile {
            let tokens = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", "<|toy_end|>", "<start_of_turn>", "▁", "a"]
            var w = GGUFWriter()
            w.setValue("general.architecture", .string(architecture))
            w.setValue("tokenizer.ggml.model", .string("llama"))
            w.setValue("tokenizer.ggml.tokens", .array(.strings(tokens)))
            w.setValue("tokenizer.ggml.scores", .array(.float32s(tokens.indices.map { -Float($0) })))
            w.setValue("tokenizer.ggml.token_type", .array(.int32s([2, 3, 3, 3, 3, 3, 3, 1, 1])))
            w.setValue("tokenizer.ggml.bos_token_id", .uint32(1))
            w.setValue("tokenizer.ggml.eos_token_id", .uint32(2))
            let path = dir.appendingPathComponent("vocab-\(architecture).gguf").path
            try w.write(to: path)
            return try GGUFFile(path: path)
        }
        let neox = try Tokenizer(gguf: vocabularyFile("toyneox"))
        #expect(neox.endOfTurnID == 5)
        #expect(neox.endOfGenerationIDs.contains(5))
        #expect(ChatTemplate.detect(chatTemplate: nil, tokenizer: neox) == .gemma)
        let renamed = try Tokenizer(gguf: vocabularyFile("toyllama"))
        #expect(renamed.endOfTurnID == 4)
        #expect(!renamed.endOfGenerationIDs.contains(5))
        #expect(ChatTemplate.detect(chatTemplate: nil, tokenizer: renamed) == .chatml(defaultSystem: nil))
    }

    @Test func registrationNeverReplacesAFamily() throws {
        var changed = Architecture.llama
        changed.activation = .geluTanh
        #expect(throws: ArchitectureRegistry.RegistrationError.nameTaken("llama")) {
            try ArchitectureRegistry.register(changed)
        }
        #expect(ArchitectureRegistry.architecture(named: "llama") == .llama)
        #expect(ArchitectureRegistry.names.starts(with: ["llama", "gemma3", "qwen3"]))
        #expect(ArchitectureRegistry.names.contains("toyllama"))
        #expect(ArchitectureRegistry.architecture(named: "toyunknown") == nil)

        // A family nobody registered is refused by name, as before.
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        var unknown = Architecture.toyLlama
        unknown.name = "toyunknown"
        let path = try TinyModelTests.write(TinyModelTests.Shape(architecture: unknown), seed: 7, to: dir)
        #expect(throws: ModelError.unsupportedArchitecture("toyunknown")) { try TransformerModel(path: path, threads: 1) }
    }
}
