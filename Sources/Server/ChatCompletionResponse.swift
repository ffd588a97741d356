import Engine

/// A choice of a `/v1/chat/completions` response: the assistant's message.
struct ChatChoice: Encodable, Sendable {
    var index: Int
    var content: String
    var logprobs: ChatLogprobs?
    var finishReason: String
    var completionID: String

    private enum CodingKeys: String, CodingKey {
        case index, message, logprobs, finishReason = "finish_reason", completionID = "completion_id"
    }
    private enum MessageKeys: String, CodingKey { case role, content, refusal }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        var message = container.nestedContainer(keyedBy: MessageKeys.self, forKey: .message)
        try message.encode("assistant", forKey: .role)
        try message.encode(content, forKey: .content)
        try message.encodeNil(forKey: .refusal)
        try container.encode(logprobs, forKey: .logprobs)
        try container.encode(finishReason, forKey: .finishReason)
        try container.encode(completionID, forKey: .completionID)
    }
}

/// A choice of a streamed chat chunk: what the message gained since the last chunk.
struct ChatChunkChoice: Encodable, Sendable {
    var index: Int
    /// Set in a choice's first chunk only.
    var role: String?
    var content: String?
    var logprobs: ChatLogprobs?
    var finishReason: String?
    var completionID: String

    private enum CodingKeys: String, CodingKey {
        case index, delta, logprobs, finishReason = "finish_reason", completionID = "completion_id"
    }
    private enum DeltaKeys: String, CodingKey { case role, content }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        // The last delta of a choice is {}: OpenAI leaves out what did not change.
        var delta = container.nestedContainer(keyedBy: DeltaKeys.self, forKey: .delta)
        try delta.encodeIfPresent(role, forKey: .role)
        try delta.encodeIfPresent(content, forKey: .content)
        try container.encode(logprobs, forKey: .logprobs)
        try container.encode(finishReason, forKey: .finishReason)
        try container.encode(completionID, forKey: .completionID)
    }
}

/// Chat logprobs: one entry per generated token with its bytes and best alternatives.
struct ChatLogprobs: Encodable, Sendable {
    var content: [Entry] = []

    struct Entry: Encodable, Sendable {
        var token: String
        var logprob: Float
        var bytes: [UInt8]
        var topLogprobs: [Alternative]

        private enum CodingKeys: String, CodingKey { case token, logprob, bytes, topLogprobs = "top_logprobs" }
    }

    struct Alternative: Encodable, Sendable {
        var token: String
        var logprob: Float
        var bytes: [UInt8]
    }

    /// Logprobs of refusal tokens: this server never answers with a refusal message.
    @EncodedAsNull var refusal: [Entry]? = nil

    mutating func append(_ report: TokenLogprobs, engine: InferenceEngine) {
        content.append(Entry(
            token: engine.tokenText(report.token), logprob: finiteLogprob(report.logprob),
            bytes: engine.tokenizer.tokenBytes(report.token),
            topLogprobs: report.top.map { alternative in
                Alternative(token: engine.tokenText(alternative.token), logprob: finiteLogprob(alternative.logprob),
                            bytes: engine.tokenizer.tokenBytes(alternative.token))
            }))
    }
}
