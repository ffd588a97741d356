import Foundation
import Model
import Tokenizers

public enum FinishReason: String, Sendable, Codable {
    case stop       // end-of-generation token or stop sequence
    case length     // max tokens or context
    case cancelled
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

    public init(promptTokens: [Int], maxTokens: Int, sampling: SamplingParameters = .greedy, stop: [String] = [],
                ignoreEOS: Bool = false, logprobs: Int? = nil, adapters: [AdapterTerm] = []) {
        self.promptTokens = promptTokens
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stop = stop
        self.ignoreEOS = ignoreEOS
        self.logprobs = logprobs
        self.adapters = adapters
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
        let capacity = min(model.config.contextLength, request.promptTokens.count + request.maxTokens)
        let cache = model.makeCache(capacity: max(1, capacity))
        let t0 = DispatchTime.now().uptimeNanoseconds
        var logits = try prefill(request.promptTokens, cache: cache, adapters: request.adapters)
        let t1 = DispatchTime.now().uptimeNanoseconds

        var sampler = Sampler(request.sampling)
        var output = GeneratedText(tokenizer: tokenizer, stops: request.stop)
        var tokens: [Int] = [], text = "", reports: [TokenLogprobs] = []
        var finish = FinishReason.length
        let endIDs = request.ignoreEOS ? [] : tokenizer.endOfGenerationIDs

        while tokens.count < request.maxTokens, !logits.isEmpty {
            let token = logits.withUnsafeBufferPointer { sampler.sample($0) }
            if let n = request.logprobs {
                reports.append(logits.withUnsafeBufferPointer { TokenLogprobs(logits: $0, token: token, topCount: n) })
            }
            tokens.append(token)
            if endIDs.contains(token) { finish = .stop; break }
            let emit = output.push(token)
            text += emit
            onText(emit)
            if output.stopped { finish = .stop; break }
            if tokens.count == request.maxTokens || cache.count >= cache.capacity { break }
            var batch = ForwardBatch()
            batch.append(sequence: 0, tokens: [token], startingAt: cache.count, logitsForLast: true, adapters: request.adapters)
            logits = try model.forward(batch, caches: [cache])
        }
        let rest = output.finish()
        if output.stopped { finish = .stop }
        text += rest
        onText(rest)
        let t2 = DispatchTime.now().uptimeNanoseconds
        return GenerationResult(tokens: tokens, text: text, finishReason: finish, logprobs: reports,
                                promptSeconds: Double(t1 - t0) / 1e9, generationSeconds: Double(t2 - t1) / 1e9)
    }
}
