import Engine

/// One choice of a non-streamed response, folded from its events.
struct CollectedChoice: Sendable {
    var text = ""
    /// Generated tokens whose logprobs are reported (the end-of-generation token that stopped the choice is not).
    var reported: [(token: Int, logprobs: TokenLogprobs?)] = []
    var finishReason = FinishReason.length
    var completionTokens = 0

    /// Waits for every choice of `run` to finish.
    static func collect(_ run: AsyncThrowingStream<ChoiceEvent, any Error>, plans: [ChoicePlan],
                        engine: InferenceEngine) async throws -> [CollectedChoice] {
        var choices = Array(repeating: CollectedChoice(), count: plans.count)
        for try await event in run {
            switch event {
            case let .token(choice, id, text, logprobs):
                choices[choice].text += text
                if !engine.endsGeneration(id, ignoreEOS: plans[choice].generation.ignoreEOS) {
                    choices[choice].reported.append((id, logprobs))
                }
            case let .text(choice, text):
                choices[choice].text += text
            case let .finished(choice, reason, completionTokens):
                choices[choice].finishReason = reason
                choices[choice].completionTokens = completionTokens
            }
        }
        return choices
    }

    /// `usage` of a response: each distinct prompt counted once, every choice's completion tokens added up.
    static func usage(plans: [ChoicePlan], completionTokens: [Int]) -> UsageBlock {
        var promptTokens: [Int: Int] = [:]
        for plan in plans { promptTokens[plan.promptIndex] = plan.prompt.tokens.count }
        return UsageBlock(promptTokens: promptTokens.values.reduce(0, +), completionTokens: completionTokens.reduce(0, +))
    }
}

extension InferenceEngine {
    /// Whether `token` is the end-of-generation token that finished a choice (not text the client asked for).
    func endsGeneration(_ token: Int, ignoreEOS: Bool) -> Bool {
        !ignoreEOS && tokenizer.endOfGenerationIDs.contains(token)
    }
}
