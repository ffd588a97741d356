import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Server
import Testing
import Tokenizers

extension ModelRouteTests {
    @Suite struct ChatCompletions {
        static let messages: [JSONObject] = [["role": "user", "content": "What is the capital of France?"]]

        @Test func greedyChatHasOpenAIsShapeAndFollowsTheChatTemplate() async throws {
            let served = try TestModel.served()
            let rendered = try served.chatTemplate.prompt([ChatMessage(role: "user", content: "What is the capital of France?")])
            #expect(rendered.contains("<|im_start|>assistant\n"))
            try await withServer { client in
                let response = try await client.post("/v1/chat/completions", [
                    "model": TestModel.id, "messages": Self.messages, "max_tokens": 12, "temperature": 0,
                ])
                #expect(response.status == .ok)
                let body = try json(response)
                let id = try #require(body["id"] as? String)
                #expect(id.hasPrefix("chatcmpl-"))
                #expect(body["object"] as? String == "chat.completion")
                let choice = try #require(choices(body).first)
                let message = try #require(choice["message"] as? JSONObject)
                #expect(message["role"] as? String == "assistant")
                let content = try #require(message["content"] as? String)
                #expect(!content.isEmpty)
                #expect(["stop", "length"].contains(choice["finish_reason"] as? String))
                #expect((choice["completion_id"] as? String)?.hasPrefix("cmpl-") == true)
                #expect(choice["logprobs"] is NSNull)
                #expect((body["usage"] as? JSONObject)?["prompt_tokens"] as? Int == served.tokenizer.encode(rendered).count)

                // The same prompt through /v1/completions gives the same text: chat is the template plus a completion.
                let completion = try json(try await client.post("/v1/completions", [
                    "prompt": rendered, "max_tokens": 12, "temperature": 0,
                ]))
                #expect(choices(completion).first?["text"] as? String == content)
            }
        }

        /// A conversation the template refuses (its raise_exception) is a 400 that carries the template's message.
        @Test func aConversationTheTemplateRefusesIs400WithItsMessage() async throws {
            let shared = try TestModel.served()
            let strict = try ServedModel(id: TestModel.id, model: shared.model, tokenizer: shared.tokenizer, chatTemplateOverride:
                "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
                + "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}assistant:")
            var logger = Logger(label: "raconteur-test")
            logger.logLevel = .error
            let app = try await buildApplication(.testing(), logger: logger) { strict }
            try await app.test(.router) { client in
                try await waitUntilHealthy(client)
                let refused = try await client.post("/v1/chat/completions", [
                    "messages": [["role": "system", "content": "Be brief."], ["role": "user", "content": "Hi"]], "max_tokens": 2,
                ])
                #expect(refused.status == .badRequest)
                let error = try #require(try json(refused)["error"] as? JSONObject)
                #expect(error["code"] as? String == "chat_template_error")
                #expect((error["message"] as? String)?.contains("System role not supported") == true)
                #expect(error["param"] as? String == "messages")
                let accepted = try await client.post("/v1/chat/completions", [
                    "messages": [["role": "user", "content": "Hi"]], "max_tokens": 2, "temperature": 0,
                ])
                #expect(accepted.status == .ok)
            }
        }

        @Test func contentPartsSystemAndDeveloperRolesAreAccepted() async throws {
            try await withServer { client in
                let response = try await client.post("/v1/chat/completions", [
                    "messages": [
                        ["role": "developer", "content": "Answer in one word."],
                        ["role": "user", "content": [["type": "text", "text": "Name a colour."]]],
                        ["role": "assistant", "content": NSNull()],
                        ["role": "user", "content": "Another one?"],
                    ],
                    "max_tokens": 4, "temperature": 0,
                ])
                #expect(response.status == .ok)
            }
        }

        @Test func streamingOpensWithTheRoleAndAddsUpToTheWholeAnswer() async throws {
            try await withServer { client in
                let request: JSONObject = ["messages": Self.messages, "max_tokens": 10, "temperature": 0]
                let whole = try json(try await client.post("/v1/chat/completions", request))
                var streamed = request
                streamed["stream"] = true
                streamed["stream_options"] = ["include_usage": true]
                let response = try await client.post("/v1/chat/completions", streamed)
                #expect(response.headers[.contentType] == "text/event-stream")
                let events = serverSentEvents(response)
                #expect(events.last == "[DONE]")
                let chunks = try eventObjects(events)
                #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
                let deltas = chunks.flatMap(choices)
                #expect((deltas.first?["delta"] as? JSONObject)?["role"] as? String == "assistant")
                let text = deltas.compactMap { ($0["delta"] as? JSONObject)?["content"] as? String }.joined()
                let message = choices(whole).first?["message"] as? JSONObject
                #expect(text == message?["content"] as? String)
                let last = try #require(deltas.last)
                #expect((last["delta"] as? JSONObject)?.isEmpty == true)
                #expect(last["finish_reason"] as? String == choices(whole).first?["finish_reason"] as? String)
                #expect(chunks.last?["usage"] is JSONObject)
            }
        }

        @Test func logprobsUseTheChatFormat() async throws {
            try await withServer { client in
                let body = try json(try await client.post("/v1/chat/completions", [
                    "messages": Self.messages, "max_tokens": 4, "temperature": 0, "logprobs": true, "top_logprobs": 2,
                    "ignore_eos": true,
                ]))
                let choice = try #require(choices(body).first)
                let logprobs = try #require(choice["logprobs"] as? JSONObject)
                let content = try #require(logprobs["content"] as? [JSONObject])
                #expect(content.count == 4)
                for entry in content {
                    #expect(entry["token"] is String)
                    #expect((entry["logprob"] as? Double ?? 1) <= 0)
                    #expect(entry["bytes"] is [Int])
                    let top = try #require(entry["top_logprobs"] as? [JSONObject])
                    #expect(top.count == 2)
                }
                let message = try #require(choice["message"] as? JSONObject)
                #expect(content.compactMap { $0["token"] as? String }.joined() == message["content"] as? String)
            }
        }

        @Test func nChoicesWithASeedDiffer() async throws {
            try await withServer { client in
                let body = try json(try await client.post("/v1/chat/completions", [
                    "messages": Self.messages, "max_tokens": 16, "temperature": 1.2, "n": 2, "seed": 7, "ignore_eos": true,
                ]))
                let texts = choices(body).compactMap { ($0["message"] as? JSONObject)?["content"] as? String }
                #expect(texts.count == 2)
                #expect(texts[0] != texts[1])
            }
        }
    }
}
