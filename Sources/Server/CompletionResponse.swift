import Engine

/// `usage` of a response.
struct UsageBlock: Encodable, Sendable {
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int { promptTokens + completionTokens }

    private enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(promptTokens, forKey: .promptTokens)
        try container.encode(completionTokens, forKey: .completionTokens)
        try container.encode(totalTokens, forKey: .totalTokens)
    }
}

/// A `/v1/completions` response, and (with one choice and no usage) each chunk of its stream: OpenAI uses
/// the same shape for both. Each choice adds `completion_id`, the id feedback refers to.
struct CompletionResponse: Encodable, Sendable {
    var id: String
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: UsageBlock?

    struct Choice: Encodable, Sendable {
        var index: Int
        var text: String
        var logprobs: CompletionLogprobs?
        var finishReason: String?
        var completionID: String

        private enum CodingKeys: String, CodingKey {
            case index, text, logprobs, finishReason = "finish_reason", completionID = "completion_id"
        }

        func encode(to encoder: any Encoder) throws {
            // OpenAI sends logprobs and finish_reason as null rather than leaving them out.
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(index, forKey: .index)
            try container.encode(text, forKey: .text)
            try container.encode(logprobs, forKey: .logprobs)
            try container.encode(finishReason, forKey: .finishReason)
            try container.encode(completionID, forKey: .completionID)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage, systemFingerprint = "system_fingerprint"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("text_completion", forKey: .object)
        try container.encode(created, forKey: .created)
        try container.encode(model, forKey: .model)
        try container.encode(choices, forKey: .choices)
        try container.encodeNil(forKey: .systemFingerprint)
        try container.encodeIfPresent(usage, forKey: .usage)
    }
}

/// The legacy completions logprobs: parallel arrays over the tokens of the choice's text.
struct CompletionLogprobs: Encodable, Sendable {
    var tokens: [String] = []
    /// nil for the first prompt token, which has no context to be scored in.
    var tokenLogprobs: [Float?] = []
    var topLogprobs: [[String: Float]?] = []
    /// Offset of each token in the choice's text, in characters (Unicode scalars).
    var textOffset: [Int] = []

    private enum CodingKeys: String, CodingKey {
        case tokens, tokenLogprobs = "token_logprobs", topLogprobs = "top_logprobs", textOffset = "text_offset"
    }

    /// Adds one token; `offset` is where its text starts and is advanced past it.
    mutating func append(token: Int, logprobs: TokenLogprobs?, offset: inout Int, engine: InferenceEngine) {
        let text = engine.tokenText(token)
        tokens.append(text)
        tokenLogprobs.append(logprobs.map { finiteLogprob($0.logprob) })
        topLogprobs.append(logprobs.map { report in
            var top: [String: Float] = [:]
            // Two tokens can share a text; keep the likelier, as a JSON object has one entry per key.
            for alternative in report.top {
                let key = engine.tokenText(alternative.token)
                top[key] = max(top[key] ?? -.infinity, finiteLogprob(alternative.logprob))
            }
            return top
        })
        textOffset.append(offset)
        offset += text.unicodeScalars.count
    }
}

/// JSON has no -infinity: a token the model rules out entirely reports a very negative finite logprob.
func finiteLogprob(_ value: Float) -> Float {
    value.isFinite ? value : -9999
}

extension FinishReason {
    /// OpenAI's `finish_reason`. A generation cancelled by the engine itself means the server is shutting down.
    func apiValue() throws -> String {
        switch self {
        case .stop: return "stop"
        case .length: return "length"
        case .cancelled: throw APIError.shuttingDown
        }
    }
}
