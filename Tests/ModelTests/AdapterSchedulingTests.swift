import Engine
import Foundation
import Model
import Testing

/// Requests with different adapter mixtures share the scheduler's batched steps, and each still generates what
/// it generates alone.
@Suite(.serialized)
struct AdapterSchedulingTests {
    @Test func fourTradeoffsShareStepsAndEachEqualsItsRunAlone() async throws {
        let loaded = try LoadedModel.smolLM2.get()
        let model = loaded.model, tokenizer = loaded.tokenizer
        let concise = LoRATests.randomAdapter(model.config, rank: 8, alpha: 8, seed: 31)
        let detailed = LoRATests.randomAdapter(model.config, rank: 8, alpha: 8, seed: 32)
        // Four points of a two-adapter trade-off, as the resolver would interpolate them (amplified, so that these
        // random adapters visibly change a confident greedy continuation).
        let mixtures: [[AdapterTerm]] = [1.0, 0.7, 0.3, 0.0].map { t in
            [AdapterTerm(adapter: concise, scale: Float(t) * 6), AdapterTerm(adapter: detailed, scale: Float(1 - t) * 6)]
        }
        let prompt = tokenizer.encode("<|im_start|>user\nName three colours.<|im_end|>\n<|im_start|>assistant\n")
        func request(_ mixture: [AdapterTerm]) -> GenerationRequest {
            GenerationRequest(promptTokens: prompt, maxTokens: 12, ignoreEOS: true, adapters: mixture)
        }

        let generator = Generator(model: model, tokenizer: tokenizer)
        let alone = try mixtures.map { try generator.generate(request($0)).tokens }
        #expect(Set(alone).count > 1, "the adapters must change what is generated")

        let scheduler = Scheduler(model: model, tokenizer: tokenizer, maxActive: 4, maxQueued: 4)
        defer { scheduler.shutdown() }
        let streams = try mixtures.map { try scheduler.submit(request($0)) }
        var together: [[Int]] = []
        for events in streams {
            var tokens: [Int] = []
            for await event in events { if case let .token(id, _, _) = event { tokens.append(id) } }
            together.append(tokens)
        }
        #expect(together == alone)
        let statistics = scheduler.statistics
        #expect(statistics.maxDistinctMixtures == 4)
        #expect(statistics.mixedMixtureSteps >= 8, "the decode steps served all four mixtures at once")
    }
}
