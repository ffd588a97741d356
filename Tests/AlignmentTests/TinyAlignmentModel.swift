import Foundation
import GGUF
import Model
@testable import Alignment
import Tokenizers

/// A tiny random llama (vocab 64, d 32, 2 blocks) with a SentencePiece vocabulary of letters and ChatML control
/// tokens, written with the project's GGUF writer: small enough that a training step takes milliseconds.
enum TinyAlignmentModel {
    static let letters = (UnicodeScalar("a").value...UnicodeScalar("z").value).map { String(UnicodeScalar($0)!) }

    static func write(to directory: URL, seed: UInt64 = 3) throws -> String {
        var rng = SeededGenerator(seed: seed)
        func random(_ count: Int, scale: Double) -> [Float] { (0..<count).map { _ in Float(rng.normal() * scale) } }
        func norm(_ count: Int) -> [Float] { (0..<count).map { _ in Float(1 + rng.normal() * 0.1) } }
        let vocab = 64, d = 32, layers = 2, heads = 4, kvHeads = 2, headDim = 8, ffn = 48
        var tokens = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", "▁"] + letters
        var types: [Int32] = [2, 3, 3, 3, 3] + [Int32](repeating: 1, count: 1 + letters.count)
        while tokens.count < vocab {
            tokens.append("<extra\(tokens.count)>")
            types.append(4)
        }
        var w = GGUFWriter()
        w.setValue("general.architecture", .string("llama"))
        w.setValue("general.name", .string("tiny alignment llama"))
        w.setValue("llama.context_length", .uint32(128))
        w.setValue("llama.embedding_length", .uint32(UInt32(d)))
        w.setValue("llama.block_count", .uint32(UInt32(layers)))
        w.setValue("llama.feed_forward_length", .uint32(UInt32(ffn)))
        w.setValue("llama.attention.head_count", .uint32(UInt32(heads)))
        w.setValue("llama.attention.head_count_kv", .uint32(UInt32(kvHeads)))
        w.setValue("llama.attention.layer_norm_rms_epsilon", .float32(1e-6))
        w.setValue("llama.rope.freq_base", .float32(10_000))
        w.setValue("tokenizer.ggml.model", .string("llama"))
        w.setValue("tokenizer.ggml.tokens", .array(.strings(tokens)))
        w.setValue("tokenizer.ggml.scores", .array(.float32s(tokens.indices.map { -Float($0) })))
        w.setValue("tokenizer.ggml.token_type", .array(.int32s(types)))
        w.setValue("tokenizer.ggml.bos_token_id", .uint32(1))
        w.setValue("tokenizer.ggml.eos_token_id", .uint32(2))
        w.setValue("tokenizer.ggml.unknown_token_id", .uint32(0))
        w.setValue("tokenizer.ggml.add_bos_token", .bool(true))
        w.setValue("tokenizer.ggml.add_space_prefix", .bool(false))

        let q = heads * headDim, kv = kvHeads * headDim
        try w.addTensor(name: "token_embd.weight", dimensions: [d, vocab], floats: random(d * vocab, scale: 1))
        try w.addTensor(name: "output_norm.weight", dimensions: [d], floats: norm(d))
        for l in 0..<layers {
            let p = "blk.\(l)."
            try w.addTensor(name: p + "attn_norm.weight", dimensions: [d], floats: norm(d))
            try w.addTensor(name: p + "attn_q.weight", dimensions: [d, q], floats: random(d * q, scale: 0.3))
            try w.addTensor(name: p + "attn_k.weight", dimensions: [d, kv], floats: random(d * kv, scale: 0.3))
            try w.addTensor(name: p + "attn_v.weight", dimensions: [d, kv], floats: random(d * kv, scale: 0.3))
            try w.addTensor(name: p + "attn_output.weight", dimensions: [q, d], floats: random(q * d, scale: 0.2))
            try w.addTensor(name: p + "ffn_norm.weight", dimensions: [d], floats: norm(d))
            try w.addTensor(name: p + "ffn_gate.weight", dimensions: [d, ffn], floats: random(d * ffn, scale: 0.3))
            try w.addTensor(name: p + "ffn_up.weight", dimensions: [d, ffn], floats: random(d * ffn, scale: 0.3))
            try w.addTensor(name: p + "ffn_down.weight", dimensions: [ffn, d], floats: random(ffn * d, scale: 0.2))
        }
        let path = directory.appendingPathComponent("tiny-align-llama.gguf").path
        try w.write(to: path)
        return path
    }

    /// A learnable, conflicting toy set: `short` prefers the shorter response (letters a and b), `long` the
    /// longer one (letters from x–z); which of the two is `chosen` alternates.
    static func records(count: Int = 24, seed: UInt64 = 11) -> [PreferenceRecord] {
        var rng = SeededGenerator(seed: seed)
        func word(_ pool: ArraySlice<String>, _ length: Int) -> String {
            (0..<length).map { _ in pool[pool.startIndex + Int(rng.next() % UInt64(pool.count))] }.joined()
        }
        return (0..<count).map { i in
            let prompt = "<|im_start|>" + word(letters[0..<26], 3 + i % 4) + "<|im_end|><|im_start|>"
            let short = word(letters[0..<2], 2 + i % 2)
            let long = word(letters[23..<26], 7 + i % 3)
            let shortFirst = i % 2 == 0
            return PreferenceRecord(prompt: prompt, chosen: shortFirst ? short : long, rejected: shortFirst ? long : short,
                                    labels: ["short": shortFirst ? 1 : -1, "long": shortFirst ? -1 : 1])
        }
    }

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("raconteur-align-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Small, fast hyper-parameters for the tiny model.
    static func hyperparameters(steps: Int = 20) -> AlignmentHyperparameters {
        var h = AlignmentHyperparameters()
        h.steps = steps
        h.batchSize = 4
        h.rank = 4
        h.alpha = 8
        h.learningRate = 2e-2
        h.warmupSteps = 2
        h.heldOutFraction = 0.25
        h.threads = 2
        h.seed = 5
        return h
    }
}
