import Engine
import Feedback
import Foundation
import Tokenizers

/// The tool-call fields of a chat request, checked: OpenAI's `tools` (functions only), `tool_choice` and
/// `parallel_tool_calls` (OpenAI API reference, "Create chat completion").
struct ToolCallSettings: Sendable {
    struct Function: Sendable {
        var name: String
        /// The JSON schema of the arguments (`{"type": "object"}` when the tool gives none).
        var parameters: JSONValue
    }

    enum Choice: Sendable, Equatable {
        case none, auto, required
        case function(String)
    }

    var functions: [Function]
    var choice: Choice
    var parallel: Bool
    /// The `tools` array as the chat template sees it: the request's objects with their keys in the order sent, as
    /// Python's json.loads gives them to transformers' apply_chat_template (the templates write them with `tojson`).
    var templateTools: [TemplateValue]

    /// OpenAI's limit on tools per request, and its rule for function names.
    static let maxTools = 128
    static let maxNameLength = 64
    /// The tool definitions' JSON text, together: they are written into the prompt, which the context bounds anyway.
    static let maxToolsBytes = 256 * 1024
    /// Calls one choice may make when `parallel_tool_calls` is true and a call is forced by the grammar.
    static let maxParallelCalls = 16

    /// Whether the output is parsed for calls and the tools are shown to the model (`none` does neither).
    var isActive: Bool { choice != .none }
    var functionNames: Set<String> { Set(functions.map(\.name)) }

    /// `^[a-zA-Z0-9_-]{1,64}$`, OpenAI's rule; it also keeps names literal in a grammar and in the prompt.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= maxNameLength && name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    /// nil when the request has no tools (an empty list or null) and asks for none. `ordered`: the `tools` array as
    /// parsed with its key order (nil when the raw body is not at hand: keys are then sorted).
    static func parse(tools: JSONValue?, toolChoice: JSONValue?, parallelToolCalls: JSONValue?,
                      ordered: TemplateValue?) throws -> ToolCallSettings? {
        var list: [JSONValue] = []
        switch tools {
        case nil, .null?: break
        case .array(let items)?: list = items
        default: throw APIError.invalidValue("tools", "Invalid type for 'tools': expected an array of tools.", code: "invalid_type")
        }
        guard list.count <= maxTools else {
            throw APIError.invalidValue("tools", "Invalid 'tools': \(list.count) tools is more than the maximum of \(maxTools).")
        }
        var parallel = true
        switch parallelToolCalls {
        case nil, .null?: break
        case .bool(let value)?: parallel = value
        default:
            throw APIError.invalidValue("parallel_tool_calls", "Invalid type for 'parallel_tool_calls': expected a boolean.", code: "invalid_type")
        }
        var functions: [Function] = []
        var totalBytes = 0
        for (index, tool) in list.enumerated() {
            let param = "tools.\(index)"
            guard case .object(let object) = tool else {
                throw APIError.invalidValue(param, "Invalid type for '\(param)': expected an object.", code: "invalid_type")
            }
            guard object["type"] == .string("function") else {
                throw APIError.invalidValue("\(param).type", "Invalid '\(param).type': only 'function' tools are supported.")
            }
            guard case .object(let function)? = object["function"] else {
                throw APIError.missingParameter("\(param).function")
            }
            guard case .string(let name)? = function["name"] else { throw APIError.missingParameter("\(param).function.name") }
            guard isValidName(name) else {
                throw APIError.invalidValue("\(param).function.name",
                                            "Invalid '\(param).function.name': a function name is 1 to \(maxNameLength) characters among a-z, A-Z, 0-9, '_' and '-'.")
            }
            guard !functions.contains(where: { $0.name == name }) else {
                throw APIError.invalidValue("\(param).function.name", "Invalid '\(param).function.name': '\(name)' is defined twice.")
            }
            switch function["description"] {
            case nil, .null?, .string?: break
            default:
                throw APIError.invalidValue("\(param).function.description", "Invalid type for '\(param).function.description': expected a string.",
                                            code: "invalid_type")
            }
            let parameters = function["parameters"] ?? .null
            switch parameters {
            case .null: break
            case .object(let schema):
                // OpenAI: "The parameters the functions accepts, described as a JSON Schema object."
                if let type = schema["type"], type != .string("object") {
                    throw APIError.invalidValue("\(param).function.parameters.type",
                                                "Invalid '\(param).function.parameters': a function's parameters must be a JSON schema of type 'object'.",
                                                code: "invalid_schema")
                }
            default:
                throw APIError.invalidValue("\(param).function.parameters",
                                            "Invalid '\(param).function.parameters': expected a JSON schema object.", code: "invalid_schema")
            }
            let bytes = (try? tool.jsonText().utf8.count) ?? maxToolsBytes + 1
            totalBytes += bytes
            guard totalBytes <= maxToolsBytes else {
                throw APIError.invalidValue("tools", "Invalid 'tools': the tool definitions exceed \(maxToolsBytes) bytes of JSON.")
            }
            functions.append(Function(name: name, parameters: parameters == .null ? .object(["type": .string("object")]) : parameters))
        }

        var choice: Choice = functions.isEmpty ? .none : .auto
        switch toolChoice {
        case nil, .null?: break
        case .string("none")?: choice = .none
        case .string("auto")?: choice = .auto
        case .string("required")?: choice = .required
        case .object(let object)?:
            guard object["type"] == .string("function"), case .object(let function)? = object["function"],
                  case .string(let name)? = function["name"] else {
                throw APIError.invalidValue("tool_choice",
                                            #"Invalid 'tool_choice': expected 'none', 'auto', 'required' or {"type": "function", "function": {"name": …}}."#)
            }
            guard functions.contains(where: { $0.name == name }) else {
                throw APIError.invalidValue("tool_choice.function.name",
                                            "Invalid 'tool_choice': the function '\(name.prefix(100))' is not among 'tools'.")
            }
            choice = .function(name)
        default:
            throw APIError.invalidValue("tool_choice", "Invalid 'tool_choice': expected 'none', 'auto', 'required' or a named function.")
        }
        if functions.isEmpty {
            guard choice == .none else {
                throw APIError.invalidValue("tool_choice", "Invalid 'tool_choice': 'tools' must list at least one function for it.")
            }
            return nil
        }

        var templateTools: [TemplateValue]
        if case .array(let items)? = ordered, items.count == list.count {
            templateTools = items
        } else {
            templateTools = list.map(TemplateValue.init(sorting:))
        }
        return ToolCallSettings(functions: functions, choice: choice, parallel: parallel, templateTools: templateTools)
    }

    /// The grammar of a forced call (`required`, or a named function): one `<tool_call>` block in the Qwen/Hermes
    /// format whose JSON names a function and gives arguments its parameters schema accepts; with
    /// `parallel_tool_calls` up to `maxParallelCalls` blocks, one a line. nil for `auto` and `none`.
    func grammarConstraint() throws -> GrammarConstraint? {
        let candidates: [(index: Int, function: Function)]
        switch choice {
        case .none, .auto: return nil
        case .required: candidates = Array(functions.enumerated()).map { ($0.offset, $0.element) }
        case .function(let name): candidates = Array(functions.enumerated()).filter { $0.element.name == name }.map { ($0.offset, $0.element) }
        }
        var rules = ""
        var alternatives: [String] = []
        for (index, function) in candidates {
            let param = "tools.\(index).function.parameters"
            let schema: (expression: String, rules: String)
            do {
                schema = try JSONSchemaGrammar.embedded(function.parameters, prefix: "t\(index)s")
            } catch let error as SchemaConversionError {
                throw APIError.invalidValue(([param] + error.path).joined(separator: "."), error.message, code: error.code)
            }
            // The name is a GBNF literal as it is: `isValidName` admits no quote or backslash.
            rules += "t\(index)-call ::= \"\\\"\(function.name)\\\", \\\"arguments\\\": \" \(schema.expression)\n" + schema.rules
            alternatives.append("t\(index)-call")
        }
        let repeats = parallel ? " ( \"\\n\" tool-call ){0,\(Self.maxParallelCalls - 1)}" : ""
        let text = "root ::= tool-call\(repeats)\n"
            + "tool-call ::= \"<tool_call>\\n{\\\"name\\\": \" ( \(alternatives.joined(separator: " | ")) ) \"}\\n</tool_call>\"\n"
            + rules + JSONGrammar.primitives
        do {
            return try GrammarConstraint.cached(source: text) { try GrammarConstraint(GrammarParser.parse(text)) }
        } catch let error as GrammarError {
            throw APIError.invalidValue("tools", "The grammar compiled from these tools is refused: \(error.message).", code: "invalid_grammar")
        } catch let error as GrammarStepError {
            throw APIError.invalidValue("tools", "The grammar compiled from these tools is refused: \(error.message).", code: "invalid_grammar")
        }
    }
}

extension TemplateValue {
    /// A JSON value for a template when its key order is unknown: keys sorted.
    init(sorting value: JSONValue) {
        switch value {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .integer(let number): self = Int(exactly: number).map { TemplateValue.int($0) } ?? .double(Double(number))
        case .unsignedInteger(let number): self = Int(exactly: number).map { TemplateValue.int($0) } ?? .double(Double(number))
        case .double(let number): self = .double(number)
        case .string(let text): self = .string(text)
        case .array(let items): self = .array(items.map(TemplateValue.init(sorting:)))
        case .object(let members):
            self = .object(TemplateObject(members.keys.sorted().map { ($0, TemplateValue(sorting: members[$0] ?? .null)) }))
        }
    }

    /// Compact JSON text (RFC 8259), keys in their order; non-finite doubles, which JSON cannot hold, as null.
    var compactJSON: String {
        var out = ""
        appendJSON(to: &out, item: ",", key: ":")
        return out
    }

    /// JSON as Python's json.dumps writes it by default (`", "` and `": "` separators), non-ASCII kept as it is
    /// (transformers' `tojson`), for the prompt of a template without tool support.
    var pythonJSON: String {
        var out = ""
        appendJSON(to: &out, item: ", ", key: ": ")
        return out
    }

    private func appendJSON(to out: inout String, item itemSeparator: String, key keySeparator: String) {
        switch self {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .int(let number): out += String(number)
        case .double(let number): out += number.isFinite ? "\(number)" : "null"
        case .string(let text): Self.appendQuoted(text, to: &out)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += itemSeparator }
                item.appendJSON(to: &out, item: itemSeparator, key: keySeparator)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for (index, pair) in object.pairs.enumerated() {
                if index > 0 { out += itemSeparator }
                Self.appendQuoted(pair.key, to: &out)
                out += keySeparator
                pair.value.appendJSON(to: &out, item: itemSeparator, key: keySeparator)
            }
            out += "}"
        }
    }

    private static func appendQuoted(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
