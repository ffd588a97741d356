import Foundation
import Model
import Tokenizers

public enum FinishReason: String, Sendable, Codable {
    case stop       // end-of-generation token or stop sequence
    case length     // max tokens or context
    case cancelled
    /// The forward pass failed (reported as an error, never as `length`).
    case error
    /// The output's grammar refused every token, or needed more matching work than `GrammarLimits` allows.
    case grammarError
}

/// One generation's inputs.
public struct GenerationRequest: Sendable {
    public var promptTokens: [Int]
    public var maxTokens: Int
    public var sampling: SamplingParameters
    public var stop: [String]
    public var ignoreEOS: Bool
    /// Number of top alternatives to report per generated token; nil reports no logprobs.
    public var logprobs: Int?
    /// The LoRA mixture every token of this generation is computed with (empty: the base model).
    public var adapters: [AdapterTerm]
    /// The grammar the output must follow (a JSON schema, GBNF); nil decodes freely.
    public var grammar: GrammarConstraint?

    public init(promptTokens: [Int], maxTokens: Int, sampling: SamplingParameters = .greedy, stop: [String] = [],
                ignoreEOS: Bool = false, logprobs: Int? = nil, adapters: [AdapterTerm] = [], grammar: GrammarConstraint? = nil) {
        self.promptTokens = promptTokens
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stop = stop
        self.ignoreEOS = ignoreEOS
        self.logprobs = logprobs
        self.adapters = adapters
        self.grammar = grammar
    }
}

public struct GenerationResult: Sendable {
    public var tokens: [Int]
    public var text: String
    public var finishReason: FinishReason
    public var logprobs: [TokenLogprobs]
    public var promptSeconds: Double
    public var generationSeconds: Double
}

/// Runs one sequence at a time through a model: prefill in chunks, then token by token.
/// The server's scheduler batches many sequences; this is the single-sequence path of the CLI and tests.
public final class Generator {
    public let model: TransformerModel
    public let tokenizer: Tokenizer
    public var prefillChunk = 256

    public init(model: TransformerModel, tokenizer: Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Feeds `tokens` into `cache` from its current end; returns the logits after the last token.
    @discardableResult
    public func prefill(_ tokens: [Int], cache: KVCache, adapters: [AdapterTerm] = []) throws -> [Float] {
        var last: [Float] = []
        var start = 0
        while start < tokens.count {
            let end = min(tokens.count, start + prefillChunk)
            var batch = ForwardBatch()
            batch.append(sequence: 0, tokens: tokens[start..<end], startingAt: cache.count, logitsForLast: end == tokens.count,
                         adapters: adapters)
            let logits = try model.forward(batch, caches: [cache])
            if end == tokens.count { last = logits }
            start = end
        }
        return last
    }

    public func generate(_ request: GenerationRequest, onText: (String) -> Void = { _ in }) throws -> GenerationResult {
        let capacity = max(1, min(model.config.contextLength, request.promptTokens.count + request.maxTokens))
        let cache = model.makeCache(capacity: capacity)
        let t0 = DispatchTime.now().uptimeNanoseconds
        var logits = try prefill(request.promptTokens, cache: cache, adapters: request.adapters)
        let t1 = DispatchTime.now().uptimeNanoseconds

        var state = DecodeState(request: request, tokenizer: tokenizer, capacity: capacity)
        var tokens: [Int] = [], text = "", reports: [TokenLogprobs] = []
        while !logits.isEmpty, let step = logits.withUnsafeBufferPointer({ state.consume($0) }) {
            tokens.append(step.token)
            if let report = step.logprobs { reports.append(report) }
            text += step.text
            onText(step.text)
            guard let next = state.pendingToken else { break }
            var batch = ForwardBatch()
            batch.append(sequence: 0, tokens: [next], startingAt: cache.count, logitsForLast: true, adapters: request.adapters)
            logits = try model.forward(batch, caches: [cache])
        }
        let (rest, finish) = state.close()
        text += rest
        onText(rest)
        let t2 = DispatchTime.now().uptimeNanoseconds
        return GenerationResult(tokens: tokens, text: text, finishReason: finish, logprobs: reports,
                                promptSeconds: Double(t1 - t0) / 1e9, generationSeconds: Double(t2 - t1) / 1e9)
    }
}
