import Tokenizers

/// How a conversation with tools becomes a prompt. A Jinja template that renders `tools` (Qwen2.5's, Hermes-style
/// ones) gets them as transformers' apply_chat_template passes them, with assistant `tool_calls` and `tool` messages
/// as they are. A template that ignores them (SmolLM2's, the hand-written ChatML and Gemma formats) gets what
/// llama-server does for such templates: the tool definitions written into the system message, here in the same
/// Hermes format Qwen2.5's template writes (`<tools>`, `<tool_call>`, `<tool_response>`), so one parser reads the
/// output of every model. docs/SERVER.md, "Tool calls".
enum ToolCallPrompt {
    /// Qwen2.5's tool instructions (its tokenizer.chat_template), around the tools' JSON lines.
    static let instructionsHead = "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
    static let instructionsTail = "\n</tools>\n\nFor each function call, return a json object with function name and arguments "
        + "within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>"

    /// Whether `template` writes the tools it is given: a short conversation rendered with a probe tool shows its name
    /// (llama.cpp's common/chat.cpp detects a template's tool support the same way).
    static func templateRendersTools(_ template: ChatTemplate) -> Bool {
        guard case .jinja = template else { return false }
        let probe = "raconteur_probe_tool_5c1e"
        let tool = TemplateValue.object([
            "type": "function",
            "function": .object(["name": .string(probe), "description": "", "parameters": .object(["type": "object", "properties": .object(TemplateObject())])]),
        ])
        guard let text = try? template.prompt([ChatMessage(role: "user", content: "Hello")], tools: [tool]) else { return false }
        return text.contains(probe)
    }

    /// The prompt for `messages` with the tools of `settings` (nil or `none`: no tools shown; the conversation's own
    /// tool calls and results are still rendered).
    static func render(_ messages: [ChatMessage], settings: ToolCallSettings?, template: ChatTemplate) throws -> String {
        let tools = settings.flatMap { $0.isActive ? $0.templateTools : nil }
        let usesTools = tools != nil || messages.contains { $0.role == "tool" || $0.toolCalls != nil }
        guard usesTools else { return try template.prompt(messages) }
        if templateRendersTools(template) { return try template.prompt(messages, tools: tools) }
        return try template.prompt(inlined(messages, tools: tools))
    }

    /// The conversation for a template without tool support: the tools in the system message, each assistant call as
    /// a `<tool_call>` block in its content, and each run of `tool` messages as one user message of
    /// `<tool_response>` blocks (Qwen2.5's template renders them so).
    static func inlined(_ messages: [ChatMessage], tools: [TemplateValue]?) -> [ChatMessage] {
        var out: [ChatMessage] = []
        if let tools {
            let instructions = instructionsHead + tools.map { "\n" + $0.pythonJSON }.joined() + instructionsTail
            if let first = messages.first, first.role == "system" {
                out.append(ChatMessage(role: "system", content: (first.content ?? "") + "\n\n" + instructions))
            } else {
                out.append(ChatMessage(role: "system", content: instructions))
            }
        }
        for (index, message) in messages.enumerated() {
            if index == 0, tools != nil, message.role == "system" { continue }
            switch message.role {
            case "tool":
                let block = "<tool_response>\n\(message.content ?? "")\n</tool_response>"
                if index > 0, messages[index - 1].role == "tool", let last = out.last {
                    out[out.count - 1].content = (last.content ?? "") + "\n" + block
                } else {
                    out.append(ChatMessage(role: "user", content: block))
                }
            case "assistant" where message.toolCalls != nil:
                var text = message.content ?? ""
                for call in message.toolCalls ?? [] {
                    guard case .object(let object) = call, case .object(let function)? = object["function"] else { continue }
                    let name = (function["name"] ?? .string("")).pythonJSON
                    let arguments = function["arguments"]?.pythonJSON ?? "{}"
                    text += (text.isEmpty ? "" : "\n") + "<tool_call>\n{\"name\": \(name), \"arguments\": \(arguments)}\n</tool_call>"
                }
                out.append(ChatMessage(role: "assistant", content: text))
            default:
                out.append(message)
            }
        }
        return out
    }
}
