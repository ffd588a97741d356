import Engine
import Foundation
import Model
import Testing

/// A token's logits must not depend on how the forward passes were batched.
@Suite(.serialized)
struct BatchConsistencyTests {
    @Test(arguments: [Paths.smolLM2, Paths.gemma3])
    func oneBatchEqualsTokenByToken(modelPath: String) throws {
        let loaded = try (modelPath == Paths.smolLM2 ? LoadedModel.smolLM2 : LoadedModel.gemma3).get()
        let model = loaded.model
        let tokens = loaded.tokenizer.encode("The quick brown fox jumps over the lazy dog because")
        let vocab = model.config.vocabularySize

        let whole = model.makeCache(capacity: tokens.count)
        var batch = ForwardBatch()
        batch.append(sequence: 0, tokens: tokens, startingAt: 0, logitsForLast: false)
        batch.logitRows = Array(0..<tokens.count)
        let batched = try model.forward(batch, caches: [whole])

        let stepwise = model.makeCache(capacity: tokens.count)
        var worst: Float = 0
        for (i, t) in tokens.enumerated() {
            var one = ForwardBatch()
            one.append(sequence: 0, tokens: [t], startingAt: i, logitsForLast: true)
            let logits = try model.forward(one, caches: [stepwise])
            for v in 0..<vocab { worst = max(worst, abs(logits[v] - batched[i * vocab + v])) }
        }
        print("\(modelPath): max |Δ logit| batched vs stepwise = \(worst)")
        #expect(worst < 0.02)
    }

    /// Qwen2.5 (q/k/v biases, untied head): a row's logits are the same whether its sequence runs alone, token by
    /// token, or in one pass with other sequences that have other lengths and positions. Token ids, so that the
    /// test does not depend on the qwen2 pre-tokenizer.
    @Test(.enabled(if: Paths.hasQwen2, "needs models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf (scripts/setup.sh)"))
    func qwen2RowsDoNotDependOnTheBatch() throws {
        let model = try LoadedModel.qwen2Model.get()
        let vocab = model.config.vocabularySize
        // Three sequences of different lengths (the third with ChatML's <|im_start|> and <|im_end|>, 151644/151645).
        let sequences = [[750, 75698, 1445, 982, 262, 421, 308, 2651, 220, 16, 25],
                         [785, 3974, 13876, 38835, 34208, 916, 279, 15678, 5562],
                         [151644, 872, 198, 7985, 264, 729, 151645, 198]]
        func alone(_ tokens: [Int]) throws -> [Float] {
            let cache = model.makeCache(capacity: tokens.count)
            var batch = ForwardBatch()
            batch.append(sequence: 0, tokens: tokens, startingAt: 0, logitsForLast: false)
            batch.logitRows = Array(tokens.indices)
            return try model.forward(batch, caches: [cache])
        }
        let separately = try sequences.map(alone)
        // All three in one pass.
        let caches = sequences.map { model.makeCache(capacity: $0.count) }
        var batch = ForwardBatch()
        for (i, tokens) in sequences.enumerated() {
            batch.append(sequence: i, tokens: tokens, startingAt: 0, logitsForLast: false)
        }
        batch.logitRows = Array(0..<batch.count)
        let together = try model.forward(batch, caches: caches)
        var offset = 0
        for (i, tokens) in sequences.enumerated() {
            let slice = Array(together[(offset * vocab)..<((offset + tokens.count) * vocab)])
            #expect(slice == separately[i], "sequence \(i) batched with the others")
            offset += tokens.count
        }
        // Token by token.
        let stepwise = model.makeCache(capacity: sequences[0].count)
        var worst: Float = 0
        for (p, t) in sequences[0].enumerated() {
            var one = ForwardBatch()
            one.append(sequence: 0, tokens: [t], startingAt: p, logitsForLast: true)
            let logits = try model.forward(one, caches: [stepwise])
            for v in 0..<vocab { worst = max(worst, abs(logits[v] - separately[0][p * vocab + v])) }
        }
        print("qwen2: max |Δ logit| batched vs stepwise = \(worst)")
        #expect(worst < 0.02)
    }
}
