import Foundation
import GGUF
import Model
import Testing

/// Small random-weight models of each architecture, written with Raconteur's own GGUF writer and checked
/// against the independent numpy forward pass in Tests/Fixtures/reference_model.py.
@Suite(.serialized)
struct TinyModelTests {
    struct Shape {
        var architecture: Architecture
        var vocab = 64, dim = 32, layers = 2, heads = 4, kvHeads = 2, headDim = 8, ffn = 48
        var slidingWindow: Int? = nil, pattern: Int? = nil
        var tiedOutput = true
        /// Write `blk.N.attn_{q,k,v}.bias` (qwen2's files have them).
        var attentionBiases = false
    }

    /// Biases of the wrong length (a GGUF is hostile input) are refused at load, naming the tensor.
    @Test func aBiasOfTheWrongShapeIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("raconteur-tiny-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try GGUFFile(path: Self.write(Self.shapes[3], seed: 7, to: dir), storage: .mapped)
        var w = GGUFWriter()
        for key in good.metadataKeys { w.setValue(key, good.metadata[key]!) }
        for t in good.tensors {
            let floats = Array(UnsafeBufferPointer(start: good.data(for: t).assumingMemoryBound(to: Float.self), count: t.elementCount))
            // blk.1.attn_k.bias one value short
            let bad = t.name == "blk.1.attn_k.bias"
            try w.addTensor(name: t.name, dimensions: bad ? [t.dimensions[0] - 1] : t.dimensions,
                            floats: bad ? Array(floats.dropLast()) : floats)
        }
        let path = dir.appendingPathComponent("bad-bias.gguf").path
        try w.write(to: path)
        #expect(throws: ModelError.shapeMismatch(tensor: "blk.1.attn_k.bias", expected: [16], found: [15])) {
            try TransformerModel(path: path, threads: 1)
        }
    }

    static let shapes: [Shape] = [
        Shape(architecture: .llama),
        // key_length ≠ dim / heads exercises the separate head size; an untied output head.
        Shape(architecture: .qwen3, headDim: 16, tiedOutput: false),
        Shape(architecture: .gemma3, layers: 3, headDim: 16, slidingWindow: 4, pattern: 3),
        // Q/K/V biases and an untied output head, as Qwen2.5's files.
        Shape(architecture: .qwen2, tiedOutput: false, attentionBiases: true),
    ]

    /// Writes the model with deterministic normal-ish weights and returns its path.
    static func write(_ s: Shape, seed: UInt64, to directory: URL) throws -> String {
        var rng = SplitMix(seed: seed)
        func random(_ count: Int, scale: Float) -> [Float] { (0..<count).map { _ in rng.gaussian() * scale } }
        func norm(_ count: Int) -> [Float] { (0..<count).map { _ in 1 + rng.gaussian() * 0.1 } }
        let a = s.architecture.rawValue
        var w = GGUFWriter()
        w.setValue("general.architecture", .string(a))
        w.setValue("general.name", .string("tiny \(a)"))
        w.setValue("\(a).context_length", .uint32(64))
        w.setValue("\(a).embedding_length", .uint32(UInt32(s.dim)))
        w.setValue("\(a).block_count", .uint32(UInt32(s.layers)))
        w.setValue("\(a).feed_forward_length", .uint32(UInt32(s.ffn)))
        w.setValue("\(a).attention.head_count", .uint32(UInt32(s.heads)))
        w.setValue("\(a).attention.head_count_kv", .uint32(UInt32(s.kvHeads)))
        w.setValue("\(a).attention.key_length", .uint32(UInt32(s.headDim)))
        w.setValue("\(a).attention.value_length", .uint32(UInt32(s.headDim)))
        w.setValue("\(a).attention.layer_norm_rms_epsilon", .float32(1e-6))
        w.setValue("\(a).rope.freq_base", .float32(10_000))
        if let window = s.slidingWindow { w.setValue("\(a).attention.sliding_window", .uint32(UInt32(window))) }
        if let pattern = s.pattern { w.setValue("\(a).attention.sliding_window_pattern", .uint32(UInt32(pattern))) }
        w.setValue("tokenizer.ggml.model", .string("gpt2"))

        let d = s.dim, q = s.heads * s.headDim, kv = s.kvHeads * s.headDim
        // The tensors the family's description asks for (a registered test family is written the same way).
        let postNorms = s.architecture.hasPostNorms, qkNorm = s.architecture.hasQKNorm
        let scaledEmbedding = s.architecture.embeddingScaling == .squareRootOfWidth
        try w.addTensor(name: "token_embd.weight", dimensions: [d, s.vocab],
                        floats: random(d * s.vocab, scale: scaledEmbedding ? 0.1 : 1))
        try w.addTensor(name: "output_norm.weight", dimensions: [d], floats: norm(d))
        if !s.tiedOutput { try w.addTensor(name: "output.weight", dimensions: [d, s.vocab], floats: random(d * s.vocab, scale: 0.2)) }
        for l in 0..<s.layers {
            let p = "blk.\(l)."
            try w.addTensor(name: p + "attn_norm.weight", dimensions: [d], floats: norm(d))
            try w.addTensor(name: p + "attn_q.weight", dimensions: [d, q], floats: random(d * q, scale: 0.3))
            try w.addTensor(name: p + "attn_k.weight", dimensions: [d, kv], floats: random(d * kv, scale: 0.3))
            try w.addTensor(name: p + "attn_v.weight", dimensions: [d, kv], floats: random(d * kv, scale: 0.3))
            try w.addTensor(name: p + "attn_output.weight", dimensions: [q, d], floats: random(q * d, scale: 0.2))
            if s.attentionBiases {
                // Large enough to matter (Qwen2.5's key biases reach tens): a wrong or doubled bias moves the logits.
                try w.addTensor(name: p + "attn_q.bias", dimensions: [q], floats: random(q, scale: 0.8))
                try w.addTensor(name: p + "attn_k.bias", dimensions: [kv], floats: random(kv, scale: 0.8))
                try w.addTensor(name: p + "attn_v.bias", dimensions: [kv], floats: random(kv, scale: 0.8))
            }
            if qkNorm {
                try w.addTensor(name: p + "attn_q_norm.weight", dimensions: [s.headDim], floats: norm(s.headDim))
                try w.addTensor(name: p + "attn_k_norm.weight", dimensions: [s.headDim], floats: norm(s.headDim))
            }
            if postNorms { try w.addTensor(name: p + "post_attention_norm.weight", dimensions: [d], floats: norm(d)) }
            try w.addTensor(name: p + "ffn_norm.weight", dimensions: [d], floats: norm(d))
            try w.addTensor(name: p + "ffn_gate.weight", dimensions: [d, s.ffn], floats: random(d * s.ffn, scale: 0.3))
            try w.addTensor(name: p + "ffn_up.weight", dimensions: [d, s.ffn], floats: random(d * s.ffn, scale: 0.3))
            try w.addTensor(name: p + "ffn_down.weight", dimensions: [s.ffn, d], floats: random(s.ffn * d, scale: 0.2))
            if postNorms { try w.addTensor(name: p + "post_ffw_norm.weight", dimensions: [d], floats: norm(d)) }
        }
        let path = directory.appendingPathComponent("tiny-\(a).gguf").path
        try w.write(to: path)
        return path
    }

    /// Logits [tokens × vocab] from the numpy reference.
    static func referenceLogits(model path: String, tokens: [Int]) throws -> [[Double]] {
        let out = URL(fileURLWithPath: path).deletingPathExtension().appendingPathExtension("ref.json")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Paths.root.appendingPathComponent("Tests/Fixtures/reference_model.py").path,
                             path, "--tokens", tokens.map(String.init).joined(separator: ","), "--out", out.path]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "reference_model.py failed on \(path)")
        struct Output: Decodable { let logits: [[Double]] }
        return try JSONDecoder().decode(Output.self, from: Data(contentsOf: out)).logits
    }

    @Test(arguments: shapes.map(\.architecture.rawValue))
    func logitsMatchTheNumpyReference(architecture: String) throws {
        let shape = try #require(Self.shapes.first { $0.architecture.rawValue == architecture })
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("raconteur-tiny-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.write(shape, seed: 7, to: dir)
        // Longer than gemma3's window of 4, so the local layers' mask matters.
        let tokens = [1, 17, 5, 42, 9, 63, 0, 28, 33, 12, 7, 50]
        let expected = try Self.referenceLogits(model: path, tokens: tokens)

        let model = try TransformerModel(path: path, threads: 2)
        let cache = model.makeCache(capacity: tokens.count)
        var batch = ForwardBatch()
        batch.append(sequence: 0, tokens: tokens, startingAt: 0, logitsForLast: false)
        batch.logitRows = Array(tokens.indices)
        let logits = try model.forward(batch, caches: [cache])
        var worst = 0.0
        for (i, row) in expected.enumerated() {
            let scale = row.map(abs).max() ?? 1
            for (v, e) in row.enumerated() {
                worst = max(worst, abs(Double(logits[i * shape.vocab + v]) - e) / max(scale, 1e-6))
            }
        }
        print("tiny \(architecture): max |Δ logit| / max |logit| = \(worst)")
        // The engine keeps K and V in F16 and, as llama.cpp's flash attention does, the running Σ p·v in F16
        // (rounded at every key): ~1.4e-3 here on random weights (~1e-4 from the F16 cache alone).
        #expect(worst < 3e-3)
    }
}

/// Deterministic Gaussian-ish numbers for test weights.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
    /// Sum of four uniforms, centred and scaled to unit variance.
    mutating func gaussian() -> Float { (uniform() + uniform() + uniform() + uniform() - 2) * 1.7320508 }
}
