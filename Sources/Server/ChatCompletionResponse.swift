import Engine

/// A choice of a `/v1/chat/completions` response: the assistant's message.
struct ChatChoice: Encodable, Sendable {
    var index: Int
    /// null when the message is only tool calls.
    var content: String?
    /// The calls the model made (tool-call requests only; the key is left out otherwise, as OpenAI does).
    var toolCalls: [ParsedToolCall]? = nil
    var logprobs: ChatLogprobs?
    var finishReason: String
    var completionID: String

    private enum CodingKeys: String, CodingKey {
        case index, message, logprobs, finishReason = "finish_reason", completionID = "completion_id"
    }
    private enum MessageKeys: String, CodingKey { case role, content, refusal, toolCalls = "tool_calls" }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        var message = container.nestedContainer(keyedBy: MessageKeys.self, forKey: .message)
        try message.encode("assistant", forKey: .role)
        if let content { try message.encode(content, forKey: .content) } else { try message.encodeNil(forKey: .content) }
        try message.encodeNil(forKey: .refusal)
        if let toolCalls, !toolCalls.isEmpty {
            try message.encode(toolCalls.map { ToolCallDelta(index: nil, call: $0) }, forKey: .toolCalls)
        }
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
    /// Calls completed since the last chunk (streams with tools only).
    var toolCalls: [ToolCallDelta]? = nil
    var logprobs: ChatLogprobs?
    var finishReason: String?
    var completionID: String

    private enum CodingKeys: String, CodingKey {
        case index, delta, logprobs, finishReason = "finish_reason", completionID = "completion_id"
    }
    private enum DeltaKeys: String, CodingKey { case role, content, toolCalls = "tool_calls" }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        // The last delta of a choice is {}: OpenAI leaves out what did not change.
        var delta = container.nestedContainer(keyedBy: DeltaKeys.self, forKey: .delta)
        try delta.encodeIfPresent(role, forKey: .role)
        try delta.encodeIfPresent(content, forKey: .content)
        try delta.encodeIfPresent(toolCalls, forKey: .toolCalls)
        try container.encode(logprobs, forKey: .logprobs)
        try container.encode(finishReason, forKey: .finishReason)
        try container.encode(completionID, forKey: .completionID)
    }
}

/// One tool call in a message (`index` nil) or in a streamed delta: OpenAI's shape, `{"index", "id", "type": "function",
/// "function": {"name", "arguments"}}`. A stream sends a call's `id`, `type` and `name` once, with empty arguments,
/// then its arguments (`call` with only `arguments` set: `id` nil).
struct ToolCallDelta: Encodable, Sendable {
    var index: Int?
    var id: String?
    var name: String?
    var arguments: String

    init(index: Int?, call: ParsedToolCall) {
        self.index = index
        id = call.id
        name = call.name
        arguments = call.arguments
    }

    init(index: Int, id: String?, name: String?, arguments: String) {
        self.index = index
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    private enum CodingKeys: String, CodingKey { case index, id, type, function }
    private enum FunctionKeys: String, CodingKey { case name, arguments }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(index, forKey: .index)
        if let id {
            try container.encode(id, forKey: .id)
            try container.encode("function", forKey: .type)
        }
        var function = container.nestedContainer(keyedBy: FunctionKeys.self, forKey: .function)
        try function.encodeIfPresent(name, forKey: .name)
        try function.encode(arguments, forKey: .arguments)
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
