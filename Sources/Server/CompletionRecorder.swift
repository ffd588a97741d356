import Adapters
import Engine
import Feedback
import Foundation
import Logging

/// Records every finished choice in the store (prompt, text, trade-off, adapter versions, sampling), before the
/// response ends, so that feedback may name it by `completion_id` as soon as the client has it. A store that
/// fails is logged, never the client's problem.
struct CompletionRecorder: Sendable {
    let store: FeedbackStore?
    let model: String
    let endpoint: CompletionEndpoint
    let tradeoff: [String: Double]?
    let adapters: [AdapterUse]
    let sampling: [JSONValue]
    let logger: Logger
    /// The id of the API key the request presented (stored with each row, never the key).
    let keyID: String?
    /// Told the tokens the request generated once its choices have finished (the key's rate limit).
    let chargeTokens: @Sendable (Int) -> Void

    init(store: FeedbackStore?, model: String, endpoint: CompletionEndpoint, mixture: AdapterMixture, plans: [ChoicePlan],
         options: GenerationOptions, keyID: String?, chargeTokens: @escaping @Sendable (Int) -> Void = { _ in },
         logger: Logger) {
        self.store = options.store == false ? nil : store   // `store: false`: nothing of this request is kept
        self.model = model
        self.endpoint = endpoint
        tradeoff = mixture.tradeoff
        adapters = mixture.entries.map { AdapterUse(name: $0.version.name, version: $0.version.version, scale: $0.scale) }
        sampling = plans.map { plan in
            let p = plan.generation.sampling
            let fields = SamplingRecord(temperature: Double(p.temperature), topP: Double(p.topP), topK: p.topK, minP: Double(p.minP),
                                        presencePenalty: Double(p.presencePenalty), frequencyPenalty: Double(p.frequencyPenalty),
                                        repeatPenalty: Double(p.repetitionPenalty), seed: p.seed.map { Int64(bitPattern: $0) },
                                        maxTokens: plan.generation.maxTokens, stop: plan.generation.stop,
                                        ignoreEOS: plan.generation.ignoreEOS)
            return (try? JSONValue(encoding: fields)) ?? .null
        }
        self.logger = logger
        self.keyID = keyID
        self.chargeTokens = chargeTokens
    }

    struct SamplingRecord: Encodable {
        var temperature: Double
        var topP: Double
        var topK: Int
        var minP: Double
        var presencePenalty: Double
        var frequencyPenalty: Double
        var repeatPenalty: Double
        var seed: Int64?
        var maxTokens: Int
        var stop: [String]
        var ignoreEOS: Bool

        private enum CodingKeys: String, CodingKey {
            case temperature, seed, stop
            case topP = "top_p", topK = "top_k", minP = "min_p", presencePenalty = "presence_penalty"
            case frequencyPenalty = "frequency_penalty", repeatPenalty = "repeat_penalty", maxTokens = "max_tokens"
            case ignoreEOS = "ignore_eos"
        }
    }

    struct Finished {
        var id: String
        var plan: ChoicePlan
        var text: String
        var finishReason: String
        var completionTokens: Int
    }

    /// The choices of a whole (non-streamed) response.
    func record(plans: [ChoicePlan], collected: [CollectedChoice], identifier: CompletionIdentifier) async {
        await record(zip(plans, collected).map { plan, choice in
            Finished(id: identifier.choiceID(plan.index), plan: plan, text: choice.text,
                     finishReason: (try? choice.finishReason.apiValue()) ?? "stop", completionTokens: choice.completionTokens)
        })
    }

    func record(_ choices: [Finished]) async {
        chargeTokens(choices.reduce(0) { $0 + $1.completionTokens })
        guard let store, !choices.isEmpty else { return }
        let records = choices.map { c in
            CompletionRecord(id: c.id, model: model, prompt: c.plan.prompt.text, text: c.text, finishReason: c.finishReason,
                             promptTokens: c.plan.prompt.tokens.count, completionTokens: c.completionTokens,
                             tradeoff: tradeoff, adapters: adapters, sampling: sampling[c.plan.index], endpoint: endpoint,
                             keyID: keyID)
        }
        do {
            try await store.recordCompletions(records)
        } catch {
            logger.error("could not record completions \(records.map(\.id)): \(error)")
        }
    }
}
