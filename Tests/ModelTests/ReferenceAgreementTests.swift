import Engine
import Foundation
import Model
import Testing

/// The engine against llama.cpp's outputs on the same files, with ../shared/reference/README.md's tolerances.
@Suite(.serialized)
struct ReferenceAgreementTests {
    static let logprobTolerance = 0.1
    static let decisiveGap = 0.2

    @Test(arguments: [("greedy_smollm2.json", Paths.smolLM2), ("greedy_gemma3.json", Paths.gemma3)])
    func teacherForcedLogprobsMatchLlamaCpp(reference: String, modelPath: String) throws {
        let loaded = try (modelPath == Paths.smolLM2 ? LoadedModel.smolLM2 : LoadedModel.gemma3).get()
        let ref = try ReferenceFile.load(reference)
        var worst = 0.0
        for c in ref.cases {
            let tokens = c.prompt_tokens + c.greedy_tokens
            let scored = try Evaluation.teacherForcedLogprobs(
                model: loaded.model, tokens: tokens, scoreFrom: c.prompt_tokens.count, topCount: 2)
            #expect(scored.count == c.steps.count)
            for (i, (ours, step)) in zip(scored, c.steps).enumerated() {
                let delta = abs(Double(ours.logprob) - step.logprob)
                worst = max(worst, delta)
                #expect(delta <= Self.logprobTolerance, "\(c.prompt.debugDescription) step \(i): \(ours.logprob) vs \(step.logprob)")
                if step.gap > Self.decisiveGap {
                    #expect(ours.top.first?.token == step.id, "\(c.prompt.debugDescription) step \(i): top-1 differs")
                }
            }
        }
        print("\(reference): worst |Δ logprob| = \(worst)")
    }

    @Test(arguments: [("greedy_smollm2.json", Paths.smolLM2), ("greedy_gemma3.json", Paths.gemma3)])
    func freeRunningGreedyMatchesLlamaCpp(reference: String, modelPath: String) throws {
        let loaded = try (modelPath == Paths.smolLM2 ? LoadedModel.smolLM2 : LoadedModel.gemma3).get()
        let ref = try ReferenceFile.load(reference)
        let generator = Generator(model: loaded.model, tokenizer: loaded.tokenizer)
        for c in ref.cases {
            let result = try generator.generate(GenerationRequest(
                promptTokens: c.prompt_tokens, maxTokens: c.greedy_tokens.count, sampling: .greedy, ignoreEOS: true))
            // Compare up to the first step where the reference itself was nearly tied.
            let decisive = c.steps.firstIndex { $0.gap < Self.decisiveGap } ?? c.steps.count
            let n = min(decisive, c.greedy_tokens.count)
            #expect(Array(result.tokens.prefix(n)) == Array(c.greedy_tokens.prefix(n)),
                    "\(c.prompt.debugDescription): diverged before the first near-tie (step \(decisive))")
        }
    }

    @Test(arguments: [("greedy_smollm2.json", Paths.smolLM2), ("greedy_gemma3.json", Paths.gemma3)])
    func tokenizationMatchesLlamaCpp(reference: String, modelPath: String) throws {
        let loaded = try (modelPath == Paths.smolLM2 ? LoadedModel.smolLM2 : LoadedModel.gemma3).get()
        for c in try ReferenceFile.load(reference).cases {
            #expect(loaded.tokenizer.encode(c.prompt) == c.prompt_tokens, "\(c.prompt.debugDescription)")
        }
    }
}
