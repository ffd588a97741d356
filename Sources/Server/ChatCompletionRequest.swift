import Feedback
import Foundation
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
    /// The request's `tools` with each object's keys in the order sent (nil when the body is not at hand).
    var orderedTools: TemplateValue?

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
        if case .array(let tools)? = options.tools, !tools.isEmpty, let body = decoder.userInfo[.requestBody] as? Data,
           case .object(let object)? = try? TemplateValue(json: String(decoding: body, as: UTF8.self)) {
            orderedTools = object["tools"]
        }
    }

    /// The tool-call fields, checked; nil when the request offers no tools.
    func toolCallSettings() throws -> ToolCallSettings? {
        try ToolCallSettings.parse(tools: options.tools, toolChoice: options.toolChoice, parallelToolCalls: options.parallelToolCalls,
                                   ordered: orderedTools)
    }

    static let integerFields = ["max_tokens", "max_completion_tokens", "top_logprobs"] + GenerationOptions.integerFields
    static let maxTopLogprobs = 20

    public struct Message: Decodable, Sendable {
        public var role: String
        public var content: MessageContent?
        public var name: String?
        /// An assistant's calls: `[{"id", "type": "function", "function": {"name", "arguments"}}]`.
        var toolCalls: JSONValue?
        /// A `tool` message's answer to the call with this id.
        var toolCallID: String?

        private enum CodingKeys: String, CodingKey { case role, content, name, toolCalls = "tool_calls", toolCallID = "tool_call_id" }
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
        var callIDs: Set<String> = []
        return try messages.enumerated().map { index, message in
            let role: String
            switch message.role {
            case "system", "developer": role = "system"
            case "user", "assistant", "tool": role = message.role
            default:
                throw APIError.invalidValue("messages.\(index).role",
                                            "Invalid 'messages.\(index).role': '\(message.role)' is not one of system, developer, user, assistant, tool.")
            }
            var toolCalls: [TemplateValue]?
            switch message.toolCalls {
            case nil, .null?, .array([])?: break
            case .array(let calls)? where role == "assistant":
                toolCalls = try Self.templateToolCalls(calls, param: "messages.\(index).tool_calls")
                for case .object(let call) in toolCalls ?? [] { if case .string(let id)? = call["id"] { callIDs.insert(id) } }
            default:
                throw APIError.invalidValue("messages.\(index).tool_calls",
                                            "Invalid 'messages.\(index).tool_calls': only assistant messages carry tool calls, as an array.")
            }
            if role == "tool" {
                // OpenAI: a tool message answers a call of an earlier assistant message, named by its id.
                guard let id = message.toolCallID else { throw APIError.missingParameter("messages.\(index).tool_call_id") }
                guard callIDs.contains(id) else {
                    throw APIError.invalidValue("messages.\(index).tool_call_id",
                                                "Invalid 'messages.\(index).tool_call_id': '\(id.prefix(100))' answers no tool call of an earlier assistant message.")
                }
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
                // An assistant turn of calls only: the template sees content None, as OpenAI's clients send it.
                if toolCalls != nil {
                    return ChatMessage(role: role, content: nil, toolCalls: toolCalls, name: message.name)
                }
            }
            return ChatMessage(role: role, content: text, toolCalls: toolCalls, name: message.name,
                               toolCallID: role == "tool" ? message.toolCallID : nil)
        }
    }

    /// An assistant message's calls as a template reads them: `{"id", "type", "function": {"name", "arguments"}}` with
    /// `arguments` parsed from its JSON string to an object (vLLM and llama-server do the same: templates write it
    /// with `tojson`); arguments that are not JSON stay a string.
    static func templateToolCalls(_ calls: [JSONValue], param: String) throws -> [TemplateValue] {
        guard calls.count <= ToolCallSettings.maxTools else {
            throw APIError.invalidValue(param, "Invalid '\(param)': more than \(ToolCallSettings.maxTools) tool calls in one message.")
        }
        return try calls.enumerated().map { index, call in
            let at = "\(param).\(index)"
            guard case .object(let object) = call else {
                throw APIError.invalidValue(at, "Invalid type for '\(at)': expected an object.", code: "invalid_type")
            }
            guard case .string(let id)? = object["id"] else { throw APIError.missingParameter("\(at).id") }
            guard object["type"] == nil || object["type"] == .string("function") else {
                throw APIError.invalidValue("\(at).type", "Invalid '\(at).type': only 'function' calls are supported.")
            }
            guard case .object(let function)? = object["function"] else { throw APIError.missingParameter("\(at).function") }
            guard case .string(let name)? = function["name"] else { throw APIError.missingParameter("\(at).function.name") }
            guard ToolCallSettings.isValidName(name) else {
                throw APIError.invalidValue("\(at).function.name", "Invalid '\(at).function.name': not a valid function name.")
            }
            guard case .string(let argumentsText)? = function["arguments"] else {
                throw APIError.invalidValue("\(at).function.arguments", "Invalid '\(at).function.arguments': expected a JSON string.",
                                            code: "invalid_type")
            }
            let arguments = (try? TemplateValue(json: argumentsText)) ?? .string(argumentsText)
            return .object(["id": .string(id), "type": "function",
                            "function": .object(["name": .string(name), "arguments": arguments])])
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
