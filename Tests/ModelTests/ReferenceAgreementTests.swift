import Engine
import Foundation
import Model
import Testing

/// The engine against llama.cpp's outputs on the same files, with the tolerances of Tests/Fixtures/reference/README.md.
///
/// The engine rounds as llama.cpp's CPU backend does (activations quantised per product, RMSNorm, RoPE tables,
/// F16 flash attention, SiLU and GELU), so on SmolLM2 its tensors equal llama.cpp 0.3.36's (llama-cpp-python)
/// bit for bit and the reference holds at every step.
///
/// Known divergence, Gemma 3: llama.cpp's own Gemma logits depend on how rows are batched (repacked Q4_K weights
/// go through a 4-row gemm or a 1-row gemv), and llama-cpp-python 0.3.36, which reproduces the reference's Gemma
/// perplexity exactly, is 91–96 % of steps within 0.1 nat of its greedy steps (mean 0.021–0.031) depending on the
/// batching; our rows must not depend on their batch. Gemma's teacher-forced steps are held to bounds on the share within 0.1 nat, the mean and
/// the worst step; its free-running continuations, like SmolLM2's, to the README's criterion for all eight prompts.
@Suite(.serialized)
struct ReferenceAgreementTests {
    static let logprobTolerance = 0.1
    static let decisiveGap = 0.2

    struct Expectation: Sendable {
        let reference: String
        let modelPath: String
        let withinShare: Double      // share of steps within 0.1 nat of the reference
        let meanDelta: Double        // mean |Δ logprob|
        let worstDelta: Double
        let decisiveShare: Double    // share of decisive steps (gap > 0.2) whose top-1 equals the reference's
        let agreeingContinuations: Int   // of 8, equal to the reference up to its first near-tie
    }

    static let expectations = [
        Expectation(reference: "greedy_smollm2.json", modelPath: Paths.smolLM2, withinShare: 1, meanDelta: 0.001,
                    worstDelta: 0.1, decisiveShare: 1, agreeingContinuations: 8),
        Expectation(reference: "greedy_gemma3.json", modelPath: Paths.gemma3, withinShare: 0.85, meanDelta: 0.05,
                    worstDelta: 0.5, decisiveShare: 0.97, agreeingContinuations: 8),
    ]

    /// Teacher-forced log-probs of the reference tokens, and the top-1 token wherever the reference's top-2 gap
    /// exceeds 0.2 nat (the reference's top-1, which is not always the token it chose: EOS was banned).
    @Test(arguments: expectations)
    func teacherForcedLogprobsMatchLlamaCpp(expected: Expectation) throws {
        let loaded = try (expected.modelPath == Paths.smolLM2 ? LoadedModel.smolLM2 : LoadedModel.gemma3).get()
        let ref = try ReferenceFile.load(expected.reference)
        var deltas: [Double] = []
        var decisive = 0, decisiveAgree = 0
        for c in ref.cases {
            let tokens = c.prompt_tokens + c.greedy_tokens
            let scored = try Evaluation.teacherForcedLogprobs(
                model: loaded.model, tokens: tokens, scoreFrom: c.prompt_tokens.count, topCount: 2)
            #expect(scored.count == c.steps.count)
            for (ours, step) in zip(scored, c.steps) {
                #expect(ours.token == step.id)
                deltas.append(abs(Double(ours.logprob) - step.logprob))
                if step.gap > Self.decisiveGap {
                    decisive += 1
                    if ours.top.first?.token == Int(step.top[0][0]) { decisiveAgree += 1 }
                }
            }
        }
        let within = Double(deltas.filter { $0 <= Self.logprobTolerance }.count) / Double(deltas.count)
        let mean = deltas.reduce(0, +) / Double(deltas.count)
        let worst = deltas.max() ?? 0
        print("\(expected.reference): \(deltas.count) steps, within 0.1 nat: \(String(format: "%.1f%%", within * 100)), "
              + "mean |Δ| \(String(format: "%.4f", mean)), worst \(String(format: "%.3f", worst)), "
              + "top-1 agrees at \(decisiveAgree)/\(decisive) decisive steps")
        #expect(within >= expected.withinShare)
        #expect(mean <= expected.meanDelta)
        #expect(worst <= expected.worstDelta)
        #expect(Double(decisiveAgree) >= expected.decisiveShare * Double(decisive))
    }

    @Test(arguments: expectations)
    func freeRunningGreedyMatchesLlamaCpp(expected: Expectation) throws {
        let reference = expected.reference
        let loaded = try (expected.modelPath == Paths.smolLM2 ? LoadedModel.smolLM2 : LoadedModel.gemma3).get()
        let ref = try ReferenceFile.load(reference)
        let generator = Generator(model: loaded.model, tokenizer: loaded.tokenizer)
        var agreeing = 0, sharedPrefix = 0, comparable = 0
        for c in ref.cases {
            let result = try generator.generate(GenerationRequest(
                promptTokens: c.prompt_tokens, maxTokens: c.greedy_tokens.count, sampling: .greedy, ignoreEOS: true))
            // Compare up to the first step where the reference itself was nearly tied.
            let n = c.steps.firstIndex { $0.gap < Self.decisiveGap } ?? c.steps.count
            let same = zip(result.tokens, c.greedy_tokens).prefix { $0 == $1 }.count
            if same >= n { agreeing += 1 } else {
                print("\(reference) \(c.prompt.debugDescription): diverges at step \(same), first near-tie at \(n)")
            }
            sharedPrefix += min(same, n)
            comparable += n
        }
        print("\(reference): \(agreeing)/\(ref.cases.count) continuations agree up to the first near-tie; "
              + "\(sharedPrefix)/\(comparable) tokens")
        #expect(agreeing >= expected.agreeingContinuations)
    }

    @Test(arguments: [("greedy_smollm2.json", Paths.smolLM2), ("greedy_gemma3.json", Paths.gemma3)])
    func tokenizationMatchesLlamaCpp(reference: String, modelPath: String) throws {
        let loaded = try (modelPath == Paths.smolLM2 ? LoadedModel.smolLM2 : LoadedModel.gemma3).get()
        for c in try ReferenceFile.load(reference).cases {
            #expect(loaded.tokenizer.encode(c.prompt) == c.prompt_tokens, "\(c.prompt.debugDescription)")
        }
    }
}
