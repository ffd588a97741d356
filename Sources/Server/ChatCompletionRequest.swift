import Tokenizers

/// The body of `POST /v1/chat/completions`, rendered with the model's chat template.
public struct ChatCompletionRequest: Decodable, Sendable, SamplingFields, IntegerFields {
    public var model: String?
    public var messages: [Message]
    public var maxTokens: Int?
    /// OpenAI's newer name for `max_tokens`.
    public var maxCompletionTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var n: Int?
    public var stream: Bool?
    public var streamOptions: StreamOptions?
    public var logprobs: Bool?
    /// Alternatives to report per token, 0...20; needs `logprobs: true`.
    public var topLogprobs: Int?
    public var stop: StopSequences?
    public var seed: Int?
    public var presencePenalty: Double?
    public var frequencyPenalty: Double?
    public var user: String?
    public var ignoreEOS: Bool?
    public var topK: Int?
    public var minP: Double?
    public var repeatPenalty: Double?
    public var logitBias: [String: Double]?

    private enum CodingKeys: String, CodingKey {
        case model, messages, temperature, n, stream, logprobs, stop, seed, user
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
        case topP = "top_p"
        case streamOptions = "stream_options"
        case topLogprobs = "top_logprobs"
        case presencePenalty = "presence_penalty"
        case frequencyPenalty = "frequency_penalty"
        case ignoreEOS = "ignore_eos"
        case topK = "top_k"
        case minP = "min_p"
        case repeatPenalty = "repeat_penalty"
        case logitBias = "logit_bias"
    }

    static let maxTopLogprobs = 20
    static let integerFields = ["max_tokens", "max_completion_tokens", "n", "top_logprobs", "seed", "top_k"]

    public struct Message: Decodable, Sendable {
        public var role: String
        public var content: MessageContent?
        public var name: String?
    }

    /// A message's content: a string, or OpenAI's list of parts of which only text parts are supported.
    public enum MessageContent: Decodable, Sendable, JSONTypeDescribing {
        case text(String)
        case parts([Part])

        public struct Part: Decodable, Sendable {
            public var type: String
            public var text: String?
        }

        static var jsonTypeDescription: String { "a string or an array of content parts" }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .text(text)
            } else if let parts = try? container.decode([Part].self) {
                self = .parts(parts)
            } else {
                throw DecodingError.typeMismatch(MessageContent.self, .init(codingPath: decoder.codingPath,
                                                                             debugDescription: Self.jsonTypeDescription))
            }
        }
    }

    /// The conversation as the chat template's messages; `developer` is OpenAI's newer name for `system`.
    func chatMessages() throws -> [ChatMessage] {
        guard !messages.isEmpty else {
            throw APIError.invalidValue("messages", "Invalid 'messages': the conversation needs at least one message.")
        }
        return try messages.enumerated().map { index, message in
            let role: String
            switch message.role {
            case "system", "developer": role = "system"
            case "user", "assistant": role = message.role
            default:
                throw APIError.invalidValue("messages.\(index).role",
                                            "Invalid 'messages.\(index).role': '\(message.role)' is not one of system, developer, user, assistant.")
            }
            var text = ""
            switch message.content {
            case .text(let content)?:
                text = content
            case .parts(let parts)?:
                for (partIndex, part) in parts.enumerated() {
                    guard part.type == "text", let partText = part.text else {
                        throw APIError.invalidValue("messages.\(index).content.\(partIndex)",
                                                    "Only text content parts are supported; got a '\(part.type)' part.")
                    }
                    text += partText
                }
            case nil:
                guard role == "assistant" else {
                    throw APIError.missingParameter("messages.\(index).content")
                }
            }
            return ChatMessage(role: role, content: text)
        }
    }

    func validateLogprobs() throws -> Int? {
        if let topLogprobs {
            guard (0...Self.maxTopLogprobs).contains(topLogprobs) else {
                throw APIError.invalidValue("top_logprobs", "Invalid 'top_logprobs': must be between 0 and \(Self.maxTopLogprobs), got \(topLogprobs).")
            }
            guard logprobs == true else {
                throw APIError.invalidValue("top_logprobs", "'top_logprobs' requires 'logprobs' to be true.")
            }
        }
        if let logitBias, !logitBias.isEmpty {
            throw APIError.invalidValue("logit_bias", "'logit_bias' is not supported.", code: "unsupported_parameter")
        }
        return logprobs == true ? (topLogprobs ?? 0) : nil
    }
}
