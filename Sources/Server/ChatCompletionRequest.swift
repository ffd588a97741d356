import Feedback
import Tokenizers

/// The body of `POST /v1/chat/completions`, rendered with the model's chat template. The fields completions shares
/// are in `options`, decoded from the same object.
public struct ChatCompletionRequest: Decodable, Sendable, IntegerFields {
    public var messages: [Message]
    public var maxTokens: Int?
    /// OpenAI's newer name for `max_tokens`.
    public var maxCompletionTokens: Int?
    public var logprobs: Bool?
    /// Alternatives to report per token, 0...20; needs `logprobs: true`.
    public var topLogprobs: Int?
    public var options: GenerationOptions

    private enum CodingKeys: String, CodingKey {
        case messages, logprobs
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
        case topLogprobs = "top_logprobs"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        messages = try container.decode([Message].self, forKey: .messages)
        maxTokens = try container.decodeIfPresent(Int.self, forKey: .maxTokens)
        maxCompletionTokens = try container.decodeIfPresent(Int.self, forKey: .maxCompletionTokens)
        logprobs = try container.decodeIfPresent(Bool.self, forKey: .logprobs)
        topLogprobs = try container.decodeIfPresent(Int.self, forKey: .topLogprobs)
        options = try GenerationOptions(from: decoder)
    }

    static let integerFields = ["max_tokens", "max_completion_tokens", "top_logprobs"] + GenerationOptions.integerFields
    static let maxTopLogprobs = 20

    public struct Message: Decodable, Sendable {
        public var role: String
        public var content: MessageContent?
        public var name: String?
        /// Tool calls are not supported yet; a message that carries them is refused, not silently shortened.
        var toolCalls: JSONValue?

        private enum CodingKeys: String, CodingKey { case role, content, name, toolCalls = "tool_calls" }
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
            case "tool":
                throw APIError.invalidValue("messages.\(index).role", "Messages with role 'tool' are not supported by this server yet.",
                                            code: "unsupported_parameter")
            default:
                throw APIError.invalidValue("messages.\(index).role",
                                            "Invalid 'messages.\(index).role': '\(message.role)' is not one of system, developer, user, assistant.")
            }
            if let calls = message.toolCalls, calls != .null, calls != .array([]) {
                throw APIError.invalidValue("messages.\(index).tool_calls", "'tool_calls' in messages are not supported by this server yet.",
                                            code: "unsupported_parameter")
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

    /// The number of alternatives to report per token, or nil for no logprobs.
    func validateLogprobs() throws -> Int? {
        if let topLogprobs {
            guard (0...Self.maxTopLogprobs).contains(topLogprobs) else {
                throw APIError.invalidValue("top_logprobs", "Invalid 'top_logprobs': must be between 0 and \(Self.maxTopLogprobs), got \(topLogprobs).")
            }
            guard logprobs == true else {
                throw APIError.invalidValue("top_logprobs", "'top_logprobs' requires 'logprobs' to be true.")
            }
        }
        return logprobs == true ? (topLogprobs ?? 0) : nil
    }
}
