import Feedback
import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import Testing

extension ModelRouteTests {
    /// Tool calls on /v1/chat/completions with SmolLM2, whose template has no tools branch (the tools go into the
    /// system message): a forced call is grammar-constrained, parsed, streamed in OpenAI's shape and stored raw.
    @Suite struct ToolCalls {
        static let tools: [JSONObject] = [[
            "type": "function",
            "function": [
                "name": "get_weather", "description": "The current weather in a city",
                "parameters": [
                    "type": "object", "additionalProperties": false, "required": ["city", "unit"],
                    "properties": ["city": ["type": "string", "maxLength": 20], "unit": ["enum": ["celsius", "fahrenheit"]]],
                ] as JSONObject,
            ] as JSONObject,
        ]]
        static let messages: [JSONObject] = [["role": "user", "content": "What is the weather in Paris?"]]

        static func checkArguments(_ call: JSONObject) throws {
            let function = try #require(call["function"] as? JSONObject)
            #expect(function["name"] as? String == "get_weather")
            let text = try #require(function["arguments"] as? String)
            let arguments = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? JSONObject)
            #expect(Set(arguments.keys) == ["city", "unit"])
            #expect((arguments["city"] as? String).map { $0.count <= 20 } == true)
            #expect(["celsius", "fahrenheit"].contains(arguments["unit"] as? String))
        }

        @Test func aRequiredCallIsParsedIntoToolCallsAndStoredAsTheModelWroteIt() async throws {
            let configuration = ServerConfiguration.testing()
            try await withServer(configuration) { client in
                let response = try await client.post("/v1/chat/completions", [
                    "messages": Self.messages, "tools": Self.tools, "tool_choice": "required", "parallel_tool_calls": false,
                    "max_tokens": 60, "temperature": 0,
                ])
                #expect(response.status == .ok)
                let choice = try #require(choices(try json(response)).first)
                #expect(choice["finish_reason"] as? String == "tool_calls")
                let message = try #require(choice["message"] as? JSONObject)
                #expect(message["content"] is NSNull)
                let calls = try #require(message["tool_calls"] as? [JSONObject])
                #expect(calls.count == 1)
                let call = try #require(calls.first)
                #expect((call["id"] as? String)?.hasPrefix("call_") == true)
                #expect(call["type"] as? String == "function")
                #expect(call["index"] == nil)
                try Self.checkArguments(call)

                // Feedback and realignment see the text the model produced, markup included.
                let store = try FeedbackStore(path: configuration.storePath)
                let completionID = try #require(choice["completion_id"] as? String)
                let record = try #require(try await store.completion(id: completionID))
                #expect(record.text.hasPrefix("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {"))
                #expect(record.text.hasSuffix("}}\n</tool_call>"))
            }
        }

        @Test func aStreamedCallHasOpenAIsChunkShape() async throws {
            try await withServer { client in
                let response = try await client.post("/v1/chat/completions", [
                    "messages": Self.messages, "tools": Self.tools, "tool_choice": ["type": "function", "function": ["name": "get_weather"]],
                    "parallel_tool_calls": false, "max_tokens": 60, "temperature": 0, "stream": true,
                ])
                #expect(response.status == .ok)
                let deltas = try eventObjects(serverSentEvents(response)).flatMap(choices)
                let toolDeltas = deltas.compactMap { ($0["delta"] as? JSONObject)?["tool_calls"] as? [JSONObject] }.flatMap { $0 }
                #expect(toolDeltas.count == 2)
                let opening = try #require(toolDeltas.first)
                #expect(opening["index"] as? Int == 0)
                #expect((opening["id"] as? String)?.hasPrefix("call_") == true)
                #expect(opening["type"] as? String == "function")
                #expect((opening["function"] as? JSONObject)?["name"] as? String == "get_weather")
                #expect((opening["function"] as? JSONObject)?["arguments"] as? String == "")
                let rest = try #require(toolDeltas.last)
                #expect(rest["id"] == nil && (rest["function"] as? JSONObject)?["name"] == nil)
                let arguments = try #require((rest["function"] as? JSONObject)?["arguments"] as? String)
                try Self.checkArguments(["function": ["name": "get_weather", "arguments": arguments] as JSONObject])
                // No content beyond the opening's empty string: the markup never reaches the client.
                let content = deltas.compactMap { ($0["delta"] as? JSONObject)?["content"] as? String }.joined()
                #expect(content.isEmpty)
                #expect(deltas.last?["finish_reason"] as? String == "tool_calls")
            }
        }

        @Test func aToolResultRoundTripAndNoneAreAnsweredWithText() async throws {
            try await withServer { client in
                let history: [JSONObject] = Self.messages + [
                    ["role": "assistant", "content": NSNull(), "tool_calls": [[
                        "id": "call_abc", "type": "function",
                        "function": ["name": "get_weather", "arguments": #"{"city": "Paris", "unit": "celsius"}"#] as JSONObject,
                    ] as JSONObject]],
                    ["role": "tool", "tool_call_id": "call_abc", "content": #"{"temperature": 18}"#],
                ]
                let response = try await client.post("/v1/chat/completions", [
                    "messages": history, "tools": Self.tools, "tool_choice": "none", "max_tokens": 8, "temperature": 0,
                ])
                #expect(response.status == .ok)
                let choice = try #require(choices(try json(response)).first)
                #expect(["stop", "length"].contains(choice["finish_reason"] as? String))
                let message = try #require(choice["message"] as? JSONObject)
                #expect(message["tool_calls"] == nil)
                #expect(message["content"] is String)
            }
        }

        @Test func invalidToolRequestsAre400Envelopes() async throws {
            try await withServer { client in
                let base: JSONObject = ["messages": Self.messages, "max_tokens": 2]
                func refused(_ extra: JSONObject, param: String, code: String = "invalid_value") async throws {
                    let response = try await client.post("/v1/chat/completions", base.merging(extra) { $1 })
                    #expect(response.status == .badRequest, "\(extra)")
                    let error = try errorEnvelope(response)
                    #expect(error["param"] as? String == param, "\(error)")
                    #expect(error["code"] as? String == code, "\(error)")
                }
                try await refused(["tools": Self.tools, "tool_choice": ["type": "function", "function": ["name": "launch"]]],
                                  param: "tool_choice.function.name")
                try await refused(["tool_choice": "required"], param: "tool_choice")
                try await refused(["tools": Self.tools, "tool_choice": "required", "response_format": ["type": "json_object"]],
                                  param: "tool_choice", code: "conflicting_parameters")
                try await refused(["messages": Self.messages + [["role": "tool", "content": "18"]]],
                                  param: "messages.1.tool_call_id", code: "missing_required_parameter")
                try await refused(["messages": Self.messages + [["role": "tool", "content": "18", "tool_call_id": "call_nobody"]]],
                                  param: "messages.1.tool_call_id")
                try await refused(["messages": Self.messages + [["role": "assistant", "tool_calls": [["id": "c"]]]]],
                                  param: "messages.1.tool_calls.0.function", code: "missing_required_parameter")
                try await refused(["tools": [["type": "function", "function": ["name": "f", "parameters": ["type": "object",
                                  "properties": ["n": ["type": "integer", "minimum": 1]]]]]], "tool_choice": "required"],
                                  param: "tools.0.function.parameters.properties.n.minimum", code: "unsupported_schema_feature")
                // Completions has no tools: refused, never ignored.
                let completion = try await client.post("/v1/completions", ["prompt": "hi", "max_tokens": 2, "tools": Self.tools])
                #expect(completion.status == .badRequest)
                #expect(try errorEnvelope(completion)["code"] as? String == "unsupported_parameter")
            }
        }
    }
}
