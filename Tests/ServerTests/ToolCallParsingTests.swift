import Engine
import Feedback
import Foundation
import Testing
import Tokenizers
@testable import Server

/// Reading `<tool_call>` blocks from a model's output, whole and as it streams.
struct ToolCallParsingTests {
    static let names: Set<String> = ["get_weather", "add"]

    @Test func aLoneCallHasNoContent() throws {
        let parsed = ToolCallStreamParser.parse(
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>",
            functionNames: Self.names)
        #expect(parsed.content == nil)
        let call = try #require(parsed.calls.first)
        #expect(parsed.calls.count == 1)
        #expect(call.name == "get_weather")
        // The arguments keep the model's key order.
        #expect(call.arguments == #"{"city":"Paris","unit":"celsius"}"#)
        #expect(call.id.hasPrefix("call_") && call.id.count == 29)
    }

    @Test func textAroundCallsIsContentTrimmedOfTheBlankLines() {
        let text = "Let me check.\n<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2.5}}\n</tool_call>\n"
            + "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>\n"
        let parsed = ToolCallStreamParser.parse(text, functionNames: Self.names)
        #expect(parsed.content == "Let me check.")
        #expect(parsed.calls.map(\.name) == ["add", "get_weather"])
        #expect(parsed.calls.first?.arguments == #"{"a":1,"b":2.5}"#)
        #expect(parsed.calls.last?.arguments == "{}")
        #expect(Set(parsed.calls.map(\.id)).count == 2)
    }

    /// A block that is not a call stays content, markup included: nothing the model wrote is dropped.
    @Test(arguments: [
        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Par\n</tool_call>",   // malformed JSON
        "<tool_call>\n{\"name\": \"launch_rockets\", \"arguments\": {}}\n</tool_call>",            // unknown function
        "<tool_call>\n[\"get_weather\"]\n</tool_call>",                                           // not an object
        "<tool_call>\n{\"name\": \"add\", \"arguments\": [1, 2]}\n</tool_call>",                  // arguments not an object
        "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}",                             // never closed
    ])
    func aBlockThatIsNotACallStaysContent(_ text: String) {
        let parsed = ToolCallStreamParser.parse(text, functionNames: Self.names)
        #expect(parsed.calls.isEmpty)
        #expect(parsed.content == text)
    }

    /// A whole output that is one call without its tags is a call; JSON that is not one stays content.
    @Test func aBareCallIsReadWhenItIsTheWholeOutput() {
        let bare = ToolCallStreamParser.parse(" {\"name\": \"add\", \"arguments\": {\"a\": 1}}\n", functionNames: Self.names)
        #expect(bare.content == nil && bare.calls.map(\.arguments) == [#"{"a":1}"#])
        var parser = ToolCallStreamParser(functionNames: Self.names)
        #expect(parser.feed("{\"name\": \"add\", ") == [])
        #expect(parser.feed("\"arguments\": {}}") == [])
        #expect(parser.finish().count == 1 && parser.callCount == 1)
        for text in [#"{"name": "launch", "arguments": {}}"#, #"{"a": 1} and more"#] {
            let parsed = ToolCallStreamParser.parse(text, functionNames: Self.names)
            #expect(parsed.calls.isEmpty && parsed.content == text)
        }
    }

    @Test func argumentsGivenAsAJSONStringAreKept() {
        let parsed = ToolCallStreamParser.parse(#"<tool_call>{"name": "add", "arguments": "{\"a\": 1}"}</tool_call>"#,
                                                functionNames: Self.names)
        #expect(parsed.calls.first?.arguments == #"{"a": 1}"#)
    }

    @Test func textWithoutCallsIsContent() {
        #expect(ToolCallStreamParser.parse("  The answer is <b>4</b> < 5.\n", functionNames: Self.names).content
                == "The answer is <b>4</b> < 5.")
        #expect(ToolCallStreamParser.parse(" \n ", functionNames: Self.names).content == nil)
    }

    /// Fed a character (or a few) at a time, no content piece ever holds a partial marker, and the pieces add up to
    /// what the whole-text parse gives.
    @Test(arguments: [1, 2, 3, 5, 7])
    func streamingNeverLeaksAPartialMarker(step: Int) {
        let text = "Sure <tool <tool_ca\n<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}\n</tool_call>\ndone <tool_c"
        var parser = ToolCallStreamParser(functionNames: Self.names)
        var outputs: [ToolCallStreamParser.Output] = []
        var index = text.startIndex
        while index < text.endIndex {
            let end = text.index(index, offsetBy: step, limitedBy: text.endIndex) ?? text.endIndex
            let fed = parser.feed(String(text[index..<end]))
            for case .content(let piece) in fed {
                // "<tool" and "<tool_ca" are content here (no marker follows them); the real one never is.
                #expect(!piece.contains("<tool_call") && !piece.contains("\"name\""), "\(piece)")
            }
            outputs += fed
            index = end
        }
        outputs += parser.finish()
        let content = outputs.compactMap { if case .content(let text) = $0 { text } else { nil } }.joined()
        let calls = outputs.compactMap { if case .call(let call) = $0 { call } else { nil } }
        let whole = ToolCallStreamParser.parse(text, functionNames: Self.names)
        #expect(content == whole.content)
        #expect(content == "Sure <tool <tool_ca\n\ndone <tool_c")
        #expect(calls.map(\.arguments) == [#"{"a":1,"b":2}"#])
        #expect(parser.callCount == 1)
    }

    @Test func aMarkerSplitAcrossPiecesIsHeldUntilItIsKnown() {
        var parser = ToolCallStreamParser(functionNames: Self.names)
        #expect(parser.feed("Hi <tool") == [.content("Hi")])
        #expect(parser.feed("_call>{\"name\": \"add\", ") == [])
        #expect(parser.feed("\"arguments\": {}}</tool_") == [])
        let closed = parser.feed("call>")
        #expect(closed.count == 1)
        if case .call(let call)? = closed.first { #expect(call.name == "add") } else { Issue.record("no call: \(closed)") }
        #expect(parser.finish() == [])
    }

    @Test func markerPrefixLengths() {
        #expect(ToolCallStreamParser.markerPrefixLength("abc<") == 1)
        #expect(ToolCallStreamParser.markerPrefixLength("abc<tool_cal") == 9)
        #expect(ToolCallStreamParser.markerPrefixLength("abc<tool_call") == 10)
        #expect(ToolCallStreamParser.markerPrefixLength("abc<tx") == 0)
        #expect(ToolCallStreamParser.markerPrefixLength("") == 0)
    }
}

/// `tools`, `tool_choice` and `parallel_tool_calls`, checked before anything is queued, and the grammar of a forced call.
struct ToolCallRequestTests {
    static func json(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    static let weather = #"{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}}, "required": ["city", "unit"]}}}"#
    static let add = #"{"type": "function", "function": {"name": "add", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"], "additionalProperties": false}}}"#

    func settings(tools: String, choice: String? = nil, parallel: String? = nil) throws -> ToolCallSettings? {
        try ToolCallSettings.parse(tools: try Self.json(tools), toolChoice: try choice.map(Self.json),
                                   parallelToolCalls: try parallel.map(Self.json), ordered: nil)
    }

    func refusal(tools: String, choice: String? = nil, parallel: String? = nil) -> APIError? {
        do {
            _ = try settings(tools: tools, choice: choice, parallel: parallel)
            return nil
        } catch let error as APIError {
            return error
        } catch {
            return nil
        }
    }

    @Test func choicesAndDefaults() throws {
        let both = "[\(Self.weather), \(Self.add)]"
        let auto = try #require(try settings(tools: both))
        #expect(auto.choice == .auto && auto.parallel && auto.isActive)
        #expect(auto.functionNames == ["get_weather", "add"])
        #expect(try settings(tools: both, choice: #""required""#, parallel: "false")?.choice == .required)
        #expect(try settings(tools: both, choice: #"{"type": "function", "function": {"name": "add"}}"#)?.choice == .function("add"))
        let none = try #require(try settings(tools: both, choice: #""none""#))
        #expect(!none.isActive)
        #expect(try settings(tools: "[]") == nil)
        #expect(try settings(tools: "null", choice: #""none""#) == nil)
        #expect(try settings(tools: both, parallel: "false")?.parallel == false)
        // Without an order from the body, a template sees the keys sorted.
        guard case .object(let first)? = auto.templateTools.first else { Issue.record("not an object"); return }
        #expect(first.keys == ["function", "type"])
    }

    @Test func invalidRequestsAre400sNamingTheField() {
        let both = "[\(Self.weather), \(Self.add)]"
        #expect(refusal(tools: both, choice: #"{"type": "function", "function": {"name": "launch"}}"#)?.param == "tool_choice.function.name")
        #expect(refusal(tools: both, choice: #""sometimes""#)?.param == "tool_choice")
        #expect(refusal(tools: both, choice: #"{"type": "function"}"#)?.param == "tool_choice")
        #expect(refusal(tools: "[]", choice: #""required""#)?.param == "tool_choice")
        #expect(refusal(tools: both, parallel: #""yes""#)?.code == "invalid_type")
        #expect(refusal(tools: #"{"type": "function"}"#)?.param == "tools")
        #expect(refusal(tools: #"[{"type": "retrieval"}]"#)?.param == "tools.0.type")
        #expect(refusal(tools: #"[{"type": "function"}]"#)?.param == "tools.0.function")
        #expect(refusal(tools: #"[{"type": "function", "function": {"description": "x"}}]"#)?.param == "tools.0.function.name")
        #expect(refusal(tools: #"[{"type": "function", "function": {"name": "a b"}}]"#)?.param == "tools.0.function.name")
        #expect(refusal(tools: #"[{"type": "function", "function": {"name": "\#(String(repeating: "x", count: 65))"}}]"#)?.param
                == "tools.0.function.name")
        #expect(refusal(tools: "[\(Self.add), \(Self.add)]")?.param == "tools.1.function.name")
        #expect(refusal(tools: #"[{"type": "function", "function": {"name": "f", "parameters": "object"}}]"#)?.code == "invalid_schema")
        #expect(refusal(tools: #"[{"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}]"#)?.param
                == "tools.0.function.parameters.type")
        #expect(refusal(tools: #"[{"type": "function", "function": {"name": "f", "description": 3}}]"#)?.code == "invalid_type")
    }

    @Test func limitsOnCountAndSize() throws {
        let tool = { (index: Int) in #"{"type": "function", "function": {"name": "f\#(index)"}}"# }
        let most = "[" + (0..<ToolCallSettings.maxTools).map(tool).joined(separator: ",") + "]"
        #expect(try settings(tools: most)?.functions.count == ToolCallSettings.maxTools)
        let tooMany = "[" + (0...ToolCallSettings.maxTools).map(tool).joined(separator: ",") + "]"
        #expect(refusal(tools: tooMany)?.param == "tools")
        let description = String(repeating: "d", count: ToolCallSettings.maxToolsBytes)
        #expect(refusal(tools: #"[{"type": "function", "function": {"name": "f", "description": "\#(description)"}}]"#)?.param == "tools")
    }

    func accepts(_ constraint: GrammarConstraint, _ text: String) -> Bool {
        var budget = GrammarBudget(limit: GrammarLimits.maxMaskWork)
        let grammar = constraint.grammar
        guard let state = try? grammar.advance(constraint.initialState, bytes: Array(text.utf8), budget: &budget) else { return false }
        return state.canEnd
    }

    @Test func aForcedCallsGrammarAcceptsOnlyCallsOfTheChosenFunctionsWithValidArguments() throws {
        let both = "[\(Self.weather), \(Self.add)]"
        let weather = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", \"unit\": \"celsius\"}}\n</tool_call>"
        let add = "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}\n</tool_call>"
        let required = try #require(try settings(tools: both, choice: #""required""#)?.grammarConstraint())
        #expect(accepts(required, weather))
        #expect(accepts(required, add))
        #expect(accepts(required, weather + "\n" + add))
        #expect(!accepts(required, "Hello"))
        #expect(!accepts(required, "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}}\n</tool_call>"))          // b missing
        #expect(!accepts(required, "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2.5}}\n</tool_call>")) // not integer
        #expect(!accepts(required, "<tool_call>\n{\"name\": \"launch\", \"arguments\": {}}\n</tool_call>"))
        let single = try #require(try settings(tools: both, choice: #""required""#, parallel: "false")?.grammarConstraint())
        #expect(accepts(single, add))
        #expect(!accepts(single, weather + "\n" + add))
        let named = try #require(try settings(tools: both, choice: #"{"type": "function", "function": {"name": "add"}}"#)?.grammarConstraint())
        #expect(accepts(named, add))
        #expect(!accepts(named, weather))
        #expect(try settings(tools: both)?.grammarConstraint() == nil)
    }

    @Test func anUnsupportedSchemaKeywordInAForcedFunctionIsNamedByItsPath() {
        let tools = #"[{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}}}}]"#
        do {
            _ = try settings(tools: tools, choice: #""required""#)?.grammarConstraint()
            Issue.record("accepted")
        } catch let error as APIError {
            #expect(error.param == "tools.0.function.parameters.properties.n.minimum")
            #expect(error.code == "unsupported_schema_feature")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func toolCallsInMessagesAreReadForTheTemplate() throws {
        let calls = try Self.json(#"[{"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{\"b\": 2, \"a\": 1}"}}]"#)
        guard case .array(let list) = calls else { return }
        let value = try ChatCompletionRequest.templateToolCalls(list, param: "messages.1.tool_calls")
        guard case .object(let call)? = value.first, case .object(let function)? = call["function"],
              case .object(let arguments)? = function["arguments"] else { Issue.record("shape"); return }
        #expect(arguments.keys == ["b", "a"])   // the client's order, for `tojson`
        #expect(call["id"] == .string("call_1"))
        for bad in [#"[{"type": "function", "function": {"name": "add", "arguments": "{}"}}]"#,
                    #"[{"id": "c", "function": {"name": "add", "arguments": {}}}]"#,
                    #"[{"id": "c", "function": {"name": "", "arguments": "{}"}}]"#, #"[3]"#] {
            guard case .array(let items) = try Self.json(bad) else { continue }
            #expect(throws: APIError.self) { try ChatCompletionRequest.templateToolCalls(items, param: "m") }
        }
    }
}

/// Rendering: a template with a tools branch gets the tools; one without gets them in the system message.
struct ToolCallPromptTests {
    static let tool = TemplateValue.object(["type": "function", "function": .object(["name": "add", "parameters": .object(["type": "object"])])])

    @Test func aTemplateWithAToolsBranchRendersThem() throws {
        let template = ChatTemplate.jinja(try JinjaTemplate(source:
            "{% if tools %}TOOLS:{% for t in tools %}{{ t | tojson }}{% endfor %}\n{% endif %}"
            + "{% for m in messages %}{{ m.role }}:{% if m.content %}{{ m.content }}{% endif %}{% if m.tool_calls %}{% for c in m.tool_calls %}[{{ c.function.name }} {{ c.function.arguments | tojson }}]{% endfor %}{% endif %}{% if m.tool_call_id %}({{ m.tool_call_id }}){% endif %}\n{% endfor %}"),
            tokens: ChatTemplateTokens(bos: "", eos: "", tokenizerAddsBOS: false))
        #expect(ToolCallPrompt.templateRendersTools(template))
        let settings = try #require(try ToolCallSettings.parse(tools: .array([try ToolCallRequestTests.json(ToolCallRequestTests.add)]),
                                                               toolChoice: nil, parallelToolCalls: nil, ordered: .array([Self.tool])))
        let messages = [
            ChatMessage(role: "user", content: "1+2?"),
            ChatMessage(role: "assistant", content: nil, toolCalls: [.object(["id": "c1", "type": "function",
                                                                               "function": .object(["name": "add", "arguments": .object(["a": 1, "b": 2])])])]),
            ChatMessage(role: "tool", content: "3", toolCallID: "c1"),
        ]
        let text = try ToolCallPrompt.render(messages, settings: settings, template: template)
        // transformers renders with trim_blocks: the newline after each block tag goes.
        #expect(text == #"TOOLS:{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}"#
                + "user:1+2?assistant:[add {\"a\": 1, \"b\": 2}]tool:3(c1)")
    }

    @Test func aTemplateWithoutToolSupportGetsThemInTheSystemMessage() throws {
        let template = ChatTemplate.chatml(defaultSystem: "You are helpful.")
        #expect(!ToolCallPrompt.templateRendersTools(template))
        let settings = try #require(try ToolCallSettings.parse(tools: .array([try ToolCallRequestTests.json(ToolCallRequestTests.add)]),
                                                               toolChoice: nil, parallelToolCalls: nil, ordered: .array([Self.tool])))
        let messages = [
            ChatMessage(role: "system", content: "Be brief."),
            ChatMessage(role: "user", content: "1+2?"),
            ChatMessage(role: "assistant", content: nil, toolCalls: [.object(["id": "c1", "type": "function",
                                                                               "function": .object(["name": "add", "arguments": .object(["a": 1, "b": 2])])])]),
            ChatMessage(role: "tool", content: "3", toolCallID: "c1"),
            ChatMessage(role: "tool", content: "4", toolCallID: "c2"),
        ]
        let text = try ToolCallPrompt.render(messages, settings: settings, template: template)
        let expected = "<|im_start|>system\nBe brief.\n\n" + ToolCallPrompt.instructionsHead
            + "\n{\"type\": \"function\", \"function\": {\"name\": \"add\", \"parameters\": {\"type\": \"object\"}}}"
            + ToolCallPrompt.instructionsTail + "<|im_end|>\n"
            + "<|im_start|>user\n1+2?<|im_end|>\n"
            + "<|im_start|>assistant\n<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}\n</tool_call><|im_end|>\n"
            + "<|im_start|>user\n<tool_response>\n3\n</tool_response>\n<tool_response>\n4\n</tool_response><|im_end|>\n"
            + "<|im_start|>assistant\n"
        #expect(text == expected)
        // tool_choice none: no tools shown, the history still inlined.
        var none = settings
        none.choice = .none
        let plain = try ToolCallPrompt.render(messages, settings: none, template: template)
        #expect(!plain.contains("<tools>") && plain.contains("<tool_response>\n3"))
    }
}
