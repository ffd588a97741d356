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
    /// Qwen2.5-Coder-0.5B (qwen2: q/k/v biases, untied head, Q4_K_M's mix of Q5_0, Q6_K, Q8_0 and Q4_K). Fetched
    /// by the test command only; the tests below that need it are enabled when it is present.
    static let qwen2 = Expectation(reference: "greedy_qwen2.json", modelPath: Paths.qwen2, withinShare: 0.97,
                                   meanDelta: 0.03, worstDelta: 0.35, decisiveShare: 1,
                                   agreeingContinuations: 8)
    static let needsQwen2 = Testing.ConditionTrait.enabled(if: Paths.hasQwen2,
                                                           "needs models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf (scripts/setup.sh fetches it)")

    static func loaded(_ modelPath: String) throws -> LoadedModel {
        switch modelPath {
        case Paths.smolLM2: return try LoadedModel.smolLM2.get()
        case Paths.gemma3: return try LoadedModel.gemma3.get()
        default: return try LoadedModel.qwen2.get()
        }
    }

    @Test(arguments: expectations)
    func teacherForcedLogprobsMatchLlamaCpp(expected: Expectation) throws {
        try Self.teacherForced(expected, model: Self.loaded(expected.modelPath).model)
    }

    /// Needs the model only, not its tokenizer: the reference's token ids are scored as they are.
    @Test(needsQwen2)
    func qwen2TeacherForcedLogprobsMatchLlamaCpp() throws {
        try Self.teacherForced(Self.qwen2, model: LoadedModel.qwen2Model.get())
    }

    @Test(needsQwen2)
    func qwen2FreeRunningGreedyMatchesLlamaCpp() throws {
        try Self.freeRunning(Self.qwen2, loaded: LoadedModel.qwen2.get())
    }

    @Test(needsQwen2)
    func qwen2TokenizationMatchesLlamaCpp() throws {
        try Self.tokenization("greedy_qwen2.json", loaded: LoadedModel.qwen2.get())
    }

    static func teacherForced(_ expected: Expectation, model: TransformerModel) throws {
        let ref = try ReferenceFile.load(expected.reference)
        var deltas: [Double] = []
        var decisive = 0, decisiveAgree = 0
        for c in ref.cases {
            let tokens = c.prompt_tokens + c.greedy_tokens
            let scored = try Evaluation.teacherForcedLogprobs(
                model: model, tokens: tokens, scoreFrom: c.prompt_tokens.count, topCount: 2)
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
        try Self.freeRunning(expected, loaded: Self.loaded(expected.modelPath))
    }

    static func freeRunning(_ expected: Expectation, loaded: LoadedModel) throws {
        let reference = expected.reference
        let ref = try ReferenceFile.load(reference)
        var agreeing = 0, sharedPrefix = 0, comparable = 0
        for c in ref.cases {
            let tokens = try greedy(loaded.model, prompt: c.prompt_tokens, count: c.greedy_tokens.count,
                                    banned: loaded.tokenizer.endOfGenerationIDs)
            // Compare up to the first step where the reference itself was nearly tied.
            let n = c.steps.firstIndex { $0.gap < Self.decisiveGap } ?? c.steps.count
            let same = zip(tokens, c.greedy_tokens).prefix { $0 == $1 }.count
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

    /// The greedy continuation as the reference made it (llama-server's `ignore_eos`): the end-of-generation tokens
    /// banned, the argmax of the others at every step. (The engine's own `ignoreEOS` only keeps going after an end
    /// token; Qwen2.5 ranks `<|im_end|>` first at some of the reference's steps.)
    static func greedy(_ model: TransformerModel, prompt: [Int], count: Int, banned: Set<Int>) throws -> [Int] {
        let cache = model.makeCache(capacity: prompt.count + count)
        var batch = ForwardBatch()
        batch.append(sequence: 0, tokens: prompt, startingAt: 0, logitsForLast: true)
        var logits = try model.forward(batch, caches: [cache])
        var tokens = [Int]()
        while tokens.count < count {
            var best = 0, bestValue = -Float.infinity
            for (v, x) in logits.enumerated() where x > bestValue && !banned.contains(v) { (best, bestValue) = (v, x) }
            tokens.append(best)
            guard tokens.count < count else { break }
            var step = ForwardBatch()
            step.append(sequence: 0, tokens: [best], startingAt: prompt.count + tokens.count - 1, logitsForLast: true)
            logits = try model.forward(step, caches: [cache])
        }
        return tokens
    }

    @Test(arguments: [("greedy_smollm2.json", Paths.smolLM2), ("greedy_gemma3.json", Paths.gemma3)])
    func tokenizationMatchesLlamaCpp(reference: String, modelPath: String) throws {
        try Self.tokenization(reference, loaded: Self.loaded(modelPath))
    }

    static func tokenization(_ reference: String, loaded: LoadedModel) throws {
        for c in try ReferenceFile.load(reference).cases {
            #expect(loaded.tokenizer.encode(c.prompt) == c.prompt_tokens, "\(c.prompt.debugDescription)")
        }
    }
}
