/// One turn of a conversation.
public struct ChatMessage: Sendable, Codable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// The chat formats Raconteur renders itself (it has no Jinja interpreter). `detect` recognises
/// a model's Jinja `chat_template` by its markers.
public enum ChatTemplate: Sendable, Equatable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` per message, generation prompt `<|im_start|>assistant\n`.
    /// With `defaultSystem`, a conversation whose first message is not a system message starts
    /// with that system message (SmolLM2's template does this).
    case chatml(defaultSystem: String?)
    /// Gemma 3: `<start_of_turn>user\n…<end_of_turn>\n`, the assistant's role written `model`,
    /// contents trimmed, a system message folded into the first turn (its content + "\n\n"),
    /// generation prompt `<start_of_turn>model\n`. No BOS: the tokenizer adds it.
    case gemma

    /// Picks the template from the model's chat_template string; when it is nil or unknown, the model family's
    /// fallback (`Tokenizer.chatTemplateFallback`), and without a family gemma for vocabularies that have
    /// <start_of_turn>, chatml with no default system otherwise.
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

    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
        var out = ""
        switch self {
        case let .chatml(defaultSystem):
            if let defaultSystem, let first = messages.first, first.role != "system" {
                out += "<|im_start|>system\n\(defaultSystem)<|im_end|>\n"
            }
            for message in messages {
                out += "<|im_start|>\(message.role)\n\(message.content)<|im_end|>\n"
            }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .gemma:
            var turns = messages[...]
            var firstPrefix = ""
            if let first = turns.first, first.role == "system" {
                firstPrefix = first.content + "\n\n"
                turns = turns.dropFirst()
            }
            for (index, message) in turns.enumerated() {
                let role = message.role == "assistant" ? "model" : message.role
                out += "<start_of_turn>\(role)\n"
                if index == 0 { out += firstPrefix }
                out += ChatTemplate.trimmed(message.content)
                out += "<end_of_turn>\n"
            }
            if addGenerationPrompt { out += "<start_of_turn>model\n" }
        }
        return out
    }

    /// Jinja's `trim`: leading and trailing whitespace removed.
    static func trimmed(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
