import Foundation

/// One turn of a conversation, with the fields chat templates read: `content` may be absent (an assistant turn
/// with only tool calls), `tool_calls`, `name` (of a tool), `tool_call_id`. docs/TOKENIZERS.md, "Chat templates".
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    /// nil: the template sees `content` as None (Python's null).
    public var content: String?
    /// The assistant's tool calls as the request gave them (`[{"id", "type", "function": {"name", "arguments"}}]`).
    public var toolCalls: [TemplateValue]?
    /// The tool's name, for `tool` messages (and OpenAI's participant names).
    public var name: String?
    public var toolCallID: String?

    public init(role: String, content: String?, toolCalls: [TemplateValue]? = nil, name: String? = nil, toolCallID: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.name = name
        self.toolCallID = toolCallID
    }

    /// The dict a template sees: `role` and `content` always (content None when absent), the others when set.
    public var templateValue: TemplateValue {
        var object = TemplateObject()
        object["role"] = .string(role)
        object["content"] = content.map { .string($0) } ?? .null
        if let toolCalls { object["tool_calls"] = .array(toolCalls) }
        if let name { object["name"] = .string(name) }
        if let toolCallID { object["tool_call_id"] = .string(toolCallID) }
        return .object(object)
    }
}

extension ChatMessage: Codable {
    private enum CodingKeys: String, CodingKey { case role, content, name, toolCalls = "tool_calls", toolCallID = "tool_call_id" }
}

/// The special-token texts a Jinja template is rendered with, and whether the tokenizer adds BOS itself.
public struct ChatTemplateTokens: Sendable, Equatable {
    public var bos: String
    public var eos: String
    /// When the tokenizer adds BOS on encoding, a BOS the template writes at the start is dropped from the prompt
    /// (llama.cpp's rule in common/chat.cpp), so that the prompt does not start with two.
    public var tokenizerAddsBOS: Bool

    public init(bos: String, eos: String, tokenizerAddsBOS: Bool) {
        self.bos = bos
        self.eos = eos
        self.tokenizerAddsBOS = tokenizerAddsBOS
    }

    public init(tokenizer: Tokenizer) {
        func text(_ id: Int?) -> String { id.map { String(decoding: tokenizer.tokenBytes($0), as: UTF8.self) } ?? "" }
        self.init(bos: text(tokenizer.bosID), eos: text(tokenizer.eosID), tokenizerAddsBOS: tokenizer.addBOS)
    }
}

/// How a model's conversations become prompt text: the model file's own Jinja template (`.jinja`), or, for
/// files without one, the two formats Raconteur writes by hand (`.chatml`, `.gemma`).
public enum ChatTemplate: Sendable, Equatable {
    /// The file's `tokenizer.chat_template` (or `--chat-template`), rendered as jinja2 renders it.
    case jinja(JinjaTemplate, tokens: ChatTemplateTokens)
    /// `<|im_start|>role\ncontent<|im_end|>\n` per message, generation prompt `<|im_start|>assistant\n`.
    /// With `defaultSystem`, a conversation whose first message is not a system message starts
    /// with that system message (SmolLM2's template does this).
    case chatml(defaultSystem: String?)
    /// Gemma 3: `<start_of_turn>user\n…<end_of_turn>\n`, the assistant's role written `model`,
    /// contents trimmed, a system message folded into the first turn (its content + "\n\n"),
    /// generation prompt `<start_of_turn>model\n`. No BOS: the tokenizer adds it.
    case gemma

    /// The model's template: its own Jinja template when it has one (`override`, else the file's), refused with
    /// `TemplateError` when it does not parse or uses what the interpreter lacks; otherwise the hand-written fallback.
    public static func load(chatTemplate: String?, tokenizer: Tokenizer) throws -> ChatTemplate {
        if let chatTemplate {
            return .jinja(try JinjaTemplate(source: chatTemplate), tokens: ChatTemplateTokens(tokenizer: tokenizer))
        }
        return detect(chatTemplate: nil, tokenizer: tokenizer)
    }

    /// The hand-written format for a file without a usable template: recognised by markers in `chatTemplate`, else
    /// the model family's fallback (`Tokenizer.chatTemplateFallback`), else gemma for vocabularies that have
    /// <start_of_turn> and chatml with no default system otherwise.
    public static func detect(chatTemplate: String?, tokenizer: Tokenizer) -> ChatTemplate {
        if let template = chatTemplate {
            if template.contains("<start_of_turn>") { return .gemma }
            if template.contains("<|im_start|>") {
                return .chatml(defaultSystem: defaultSystemPrompt(in: template))
            }
        }
        if let fallback = tokenizer.chatTemplateFallback { return fallback }
        if tokenizer.tokenID("<start_of_turn>") != nil { return .gemma }
        return .chatml(defaultSystem: nil)
    }

    /// The content of a literal `<|im_start|>system\n…<|im_end|>` inside a string of the template,
    /// which ChatML templates emit when the conversation has no system message of its own.
    static func defaultSystemPrompt(in template: String) -> String? {
        let marker = "<|im_start|>system"
        var rest = Substring(template)
        while let found = rest.firstRange(of: marker) {
            rest = rest[found.upperBound...]
            // The newline after the role: a real one, or the escape `\n` inside a Jinja string.
            var body: Substring
            if rest.hasPrefix("\n") {
                body = rest.dropFirst()
            } else if rest.hasPrefix("\\n") {
                body = rest.dropFirst(2)
            } else {
                continue
            }
            guard let end = body.firstRange(of: "<|im_end|>") else { return nil }
            body = body[..<end.lowerBound]
            // Only a literal: an expression (message['content'], a variable) is not a default.
            if body.isEmpty || body.contains("'") || body.contains("\"") || body.contains("{") || body.contains("+") {
                continue
            }
            return unescapeJinjaString(body)
        }
        return nil
    }

    private static func unescapeJinjaString(_ text: Substring) -> String {
        var out = ""
        var escaping = false
        for scalar in text.unicodeScalars {
            if escaping {
                switch scalar {
                case "n": out.unicodeScalars.append("\n")
                case "t": out.unicodeScalars.append("\t")
                default: out.unicodeScalars.append(scalar)
                }
                escaping = false
            } else if scalar == "\\" {
                escaping = true
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The conversation as the template writes it (byte for byte what jinja2 gives for `.jinja`). `tools`: the
    /// tool definitions for templates that take them (None when nil, as transformers passes). Throws
    /// `TemplateError` when the template raises (e.g. roles that do not alternate) or hits a bound.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true, tools: [TemplateValue]? = nil,
                       date: Date = Date()) throws -> String {
        var out = ""
        switch self {
        case let .jinja(template, tokens):
            let context: [String: TemplateValue] = [
                "messages": .array(messages.map(\.templateValue)),
                "add_generation_prompt": .bool(addGenerationPrompt),
                "bos_token": .string(tokens.bos),
                "eos_token": .string(tokens.eos),
                "tools": tools.map { .array($0) } ?? .null,
                "documents": .null,
            ]
            return try template.render(context: context, date: date)
        case let .chatml(defaultSystem):
            if let defaultSystem, let first = messages.first, first.role != "system" {
                out += "<|im_start|>system\n\(defaultSystem)<|im_end|>\n"
            }
            for message in messages {
                out += "<|im_start|>\(message.role)\n\(message.content ?? "")<|im_end|>\n"
            }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .gemma:
            var turns = messages[...]
            var firstPrefix = ""
            if let first = turns.first, first.role == "system" {
                firstPrefix = (first.content ?? "") + "\n\n"
                turns = turns.dropFirst()
            }
            for (index, message) in turns.enumerated() {
                let role = message.role == "assistant" ? "model" : message.role
                out += "<start_of_turn>\(role)\n"
                if index == 0 { out += firstPrefix }
                out += ChatTemplate.trimmed(message.content ?? "")
                out += "<end_of_turn>\n"
            }
            if addGenerationPrompt { out += "<start_of_turn>model\n" }
        }
        return out
    }

    /// The prompt text to encode for a completion: `render` with the generation prompt, less a leading BOS the
    /// tokenizer will add anyway (llama.cpp does the same). Encoding this text gives the prompt's tokens.
    public func prompt(_ messages: [ChatMessage], tools: [TemplateValue]? = nil, date: Date = Date()) throws -> String {
        let text = try render(messages, addGenerationPrompt: true, tools: tools, date: date)
        if case let .jinja(_, tokens) = self, tokens.tokenizerAddsBOS, !tokens.bos.isEmpty, text.hasPrefix(tokens.bos) {
            return String(text.dropFirst(tokens.bos.count))
        }
        return text
    }

    /// What the template writes after an assistant's reply to close its turn (`<|im_end|>\n`, `<|eot_id|>`,
    /// `<end_of_turn>\n`), found by rendering a short conversation with and without a reply; nil when the template
    /// does not show it (it raises, or drops the reply).
    public func responseClosing() -> String? {
        let marker = "RACONTEUR-REPLY-7f3a"
        let question = ChatMessage(role: "user", content: "Hello")
        guard let full = try? render([question, ChatMessage(role: "assistant", content: marker)], addGenerationPrompt: false),
              let found = full.range(of: marker, options: .backwards) else { return nil }
        return String(full[found.upperBound...])
    }

    /// The token that ends an assistant's reply under this template: the first token of `responseClosing` when it
    /// is one the model ends generations on; nil when there is none (callers fall back to the family's).
    public func endOfTurnID(tokenizer: Tokenizer) -> Int? {
        guard let closing = responseClosing(), !closing.isEmpty,
              let first = tokenizer.encode(closing, addSpecialTokens: false, parseSpecialTokens: true).first,
              tokenizer.endOfGenerationIDs.contains(first) else { return nil }
        return first
    }

    /// Jinja's `trim`: leading and trailing whitespace removed.
    static func trimmed(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
