import Model
import Tokenizers

/// One sequence's decoding after its prompt: sampling, the text a client sees, and when to stop. The scheduler and
/// the single-sequence generator both drive one per sequence, so the stopping rules cannot drift apart.
///
/// A sequence stops (in this order of checks) on an end-of-generation token (`stop`), on a stop sequence (`stop`),
/// after `maxTokens` tokens or when prompt + completion fills `capacity` positions (`length`). The last sampled
/// token is never fed back, so it needs no position of its own beyond that bound.
struct DecodeState {
    let request: GenerationRequest
    /// Positions the sequence may fill, prompt and completion together (its cache's capacity).
    let capacity: Int
    private var sampler: Sampler
    private var output: GeneratedText
    private let endIDs: Set<Int>
    /// Tokens sampled so far.
    private(set) var generated = 0
    /// Why the sequence ended, once it has.
    private(set) var finishReason: FinishReason?
    /// The last sampled token while the sequence continues: the next row to feed.
    private(set) var pendingToken: Int?

    init(request: GenerationRequest, tokenizer: Tokenizer, capacity: Int) {
        self.request = request
        self.capacity = capacity
        sampler = Sampler(request.sampling)
        output = GeneratedText(tokenizer: tokenizer, stops: request.stop)
        endIDs = request.ignoreEOS ? [] : tokenizer.endOfGenerationIDs
        if request.maxTokens <= 0 { finishReason = .length }
    }

    struct Step {
        var token: Int
        /// The text this token makes safe to show (empty for an end-of-generation token).
        var text: String
        var logprobs: TokenLogprobs?
    }

    /// Samples the next token from this sequence's logits row and decides whether the sequence goes on.
    mutating func consume(_ logits: UnsafeBufferPointer<Float>) -> Step? {
        guard finishReason == nil else { return nil }
        let token = sampler.sample(logits)
        let report = request.logprobs.map { TokenLogprobs(logits: logits, token: token, topCount: $0) }
        generated += 1
        pendingToken = nil
        if endIDs.contains(token) {
            finishReason = .stop
            return Step(token: token, text: "", logprobs: report)
        }
        let text = output.push(token)
        if output.stopped {
            finishReason = .stop
        } else if generated >= request.maxTokens || request.promptTokens.count + generated >= capacity {
            finishReason = .length
        } else {
            pendingToken = token
        }
        return Step(token: token, text: text, logprobs: report)
    }

    /// Ends the sequence early: cancelled by its client, or failed in the forward pass.
    mutating func end(_ reason: FinishReason) {
        if finishReason == nil { finishReason = reason }
        pendingToken = nil
    }

    /// The text held back until the end (an incomplete character, a possible stop-sequence prefix) and the final
    /// reason: a held-back tail that completes a stop sequence turns `length` into `stop`.
    mutating func close() -> (text: String, reason: FinishReason) {
        let reason = finishReason ?? .length
        guard reason == .stop || reason == .length else { return ("", reason) }
        let rest = output.finish()
        return (rest, output.stopped ? .stop : reason)
    }
}
