import Engine

/// A `/v1/chat/completions` response. Each choice adds `completion_id`, the id feedback refers to.
struct ChatCompletionResponse: Encodable, Sendable {
    var id: String
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: UsageBlock

    struct Choice: Encodable, Sendable {
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

    private enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage, systemFingerprint = "system_fingerprint"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("chat.completion", forKey: .object)
        try container.encode(created, forKey: .created)
        try container.encode(model, forKey: .model)
        try container.encode(choices, forKey: .choices)
        try container.encode(usage, forKey: .usage)
        try container.encodeNil(forKey: .systemFingerprint)
    }
}

/// One chunk of a streamed chat completion: a delta per choice, or (last, when asked for) only the usage.
struct ChatCompletionChunk: Encodable, Sendable {
    var id: String
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: UsageBlock?

    struct Choice: Encodable, Sendable {
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

    private enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage, systemFingerprint = "system_fingerprint"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("chat.completion.chunk", forKey: .object)
        try container.encode(created, forKey: .created)
        try container.encode(model, forKey: .model)
        try container.encodeNil(forKey: .systemFingerprint)
        try container.encode(choices, forKey: .choices)
        try container.encodeIfPresent(usage, forKey: .usage)
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

    private enum CodingKeys: String, CodingKey { case content, refusal }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(content, forKey: .content)
        try container.encodeNil(forKey: .refusal)
    }

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
