import Model
import Tokenizers

/// One sequence's decoding after its prompt: sampling, the text a client sees, and when to stop. The scheduler and
/// the single-sequence generator both drive one per sequence, so the stopping rules cannot drift apart.
///
/// A sequence stops (in this order of checks) on an end-of-generation token (`stop`), on a stop sequence (`stop`),
/// after `maxTokens` tokens or when prompt + completion fills `capacity` positions (`length`). The last sampled
/// token is never fed back, so it needs no position of its own beyond that bound.
///
/// Under a grammar, the sampler sees the row with the tokens the grammar refuses at -inf (logprobs report that
/// constrained distribution), end-of-generation tokens only where the grammar can end, and the sequence stops
/// (`stop`) once the grammar is complete with nothing that could follow. Without one, nothing of this runs.
struct DecodeState {
    let request: GenerationRequest
    /// Positions the sequence may fill, prompt and completion together (its cache's capacity).
    let capacity: Int
    private var sampler: Sampler
    private var output: GeneratedText
    private let endIDs: Set<Int>
    private var grammar: GrammarTokenFilter?
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
        if let constraint = request.grammar {
            grammar = GrammarTokenFilter(constraint: constraint, tokenizer: tokenizer, endIDs: endIDs)
        }
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
        if grammar != nil { return consumeConstrained(logits) }
        let token = sampler.sample(logits)
        let report = request.logprobs.map { TokenLogprobs(logits: logits, token: token, topCount: $0) }
        return record(token, logprobs: report)
    }

    /// `consume` under a grammar: sample from the masked row, then advance the grammar by the token.
    private mutating func consumeConstrained(_ logits: UnsafeBufferPointer<Float>) -> Step? {
        guard var filter = grammar else { return nil }
        defer { grammar = filter }
        if filter.state.isFinished {
            // Only the empty output was left to produce (a grammar that accepts the empty string alone).
            finishReason = .stop
            pendingToken = nil
            return nil
        }
        let token: Int
        let report: TokenLogprobs?
        do {
            guard let masked = try filter.mask(logits) else { throw GrammarStepError(message: "no token continues the grammar") }
            (token, report) = masked.withUnsafeBufferPointer { row in
                let token = sampler.sample(row)
                return (token, request.logprobs.map { TokenLogprobs(logits: row, token: token, topCount: $0) })
            }
            if !endIDs.contains(token) { try filter.accept(token) }
        } catch {
            end(.grammarError)
            return nil
        }
        let step = record(token, logprobs: report)
        // A complete output ends with `stop`, even on the token that also reached max_tokens.
        if (finishReason == nil || finishReason == .length) && filter.state.isFinished {
            finishReason = .stop
            pendingToken = nil
        }
        return step
    }

    /// Counts a sampled token and decides whether the sequence goes on.
    private mutating func record(_ token: Int, logprobs report: TokenLogprobs?) -> Step {
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
