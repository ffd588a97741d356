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
}
