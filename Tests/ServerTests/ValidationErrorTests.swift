import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import Testing

extension ModelRouteTests {
    /// Every bad request gets a 4xx with OpenAI's envelope naming the field, and the server keeps serving.
    @Suite struct ValidationErrors {
        struct Case: Sendable, CustomTestStringConvertible {
            var route = "/v1/completions"
            var body: String
            var status: HTTPResponse.Status = .badRequest
            var param: String?
            var code: String?
            var testDescription: String { "\(route) \(body.prefix(60))" }
        }

        static let cases: [Case] = [
            Case(body: #"{"prompt": "hi", "max_tokens": 4"#, code: "invalid_json"),
            Case(body: "", code: "invalid_json"),
            Case(body: #"["prompt"]"#, code: "invalid_json"),
            Case(body: #"{"max_tokens": 4}"#, param: "prompt", code: "missing_required_parameter"),
            Case(body: #"{"prompt": 42}"#, param: "prompt", code: "invalid_type"),
            Case(body: #"{"prompt": [1, "a"]}"#, param: "prompt", code: "invalid_type"),
            Case(body: #"{"prompt": "hi", "temperature": "hot"}"#, param: "temperature", code: "invalid_type"),
            Case(body: #"{"prompt": "hi", "max_tokens": 2.5}"#, param: "max_tokens", code: "invalid_type"),
            Case(body: #"{"prompt": "hi", "seed": 1.5}"#, param: "seed", code: "invalid_type"),
            Case(body: #"{"prompt": "hi", "stream": "yes"}"#, param: "stream", code: "invalid_type"),
            Case(body: #"{"prompt": "hi", "temperature": -0.5}"#, param: "temperature", code: "invalid_value"),
            Case(body: #"{"prompt": "hi", "temperature": 2.5}"#, param: "temperature"),
            Case(body: #"{"prompt": "hi", "top_p": 1.5}"#, param: "top_p"),
            Case(body: #"{"prompt": "hi", "n": 0}"#, param: "n"),
            Case(body: #"{"prompt": "hi", "n": 9}"#, param: "n"),
            Case(body: #"{"prompt": ["a", "b", "c"], "n": 3}"#, param: "n"),
            Case(body: #"{"prompt": "hi", "presence_penalty": 3}"#, param: "presence_penalty"),
            Case(body: #"{"prompt": "hi", "frequency_penalty": -3}"#, param: "frequency_penalty"),
            Case(body: #"{"prompt": "hi", "logprobs": 6}"#, param: "logprobs"),
            Case(body: #"{"prompt": "hi", "logprobs": -1}"#, param: "logprobs"),
            Case(body: #"{"prompt": "hi", "stop": ["a", "b", "c", "d", "e"]}"#, param: "stop"),
            Case(body: #"{"prompt": "hi", "stop": 3}"#, param: "stop", code: "invalid_type"),
            Case(body: #"{"prompt": "hi", "max_tokens": -1}"#, param: "max_tokens"),
            Case(body: #"{"prompt": "hi", "max_tokens": 257}"#, param: "max_tokens"),
            Case(body: #"{"prompt": "hi", "max_tokens": 256, "ignore_eos": true, "echo": true, "n": 1, "top_k": -1}"#, param: "top_k"),
            Case(body: #"{"prompt": "hi", "model": "gpt-4"}"#, status: .notFound, param: "model", code: "model_not_found"),
            Case(body: #"{"prompt": []}"#, param: "prompt"),
            Case(body: #"{"prompt": ""}"#, param: "prompt"),
            Case(body: #"{"prompt": [[]]}"#, param: "prompt"),
            Case(body: #"{"prompt": [1, 99999999]}"#, param: "prompt"),
            Case(body: #"{"prompt": [-1]}"#, param: "prompt"),
            Case(body: #"{"prompt": "hi", "best_of": 3}"#, param: "best_of", code: "unsupported_parameter"),
            Case(body: #"{"prompt": "hi", "logit_bias": {"50256": -100}}"#, param: "logit_bias", code: "unsupported_parameter"),
            Case(body: "{\"prompt\": \"\(String(repeating: "story ", count: 600))\"}", param: "prompt", code: "context_length_exceeded"),
            Case(body: "{\"prompt\": \"\(String(repeating: "tale ", count: 300))\", \"max_tokens\": 256}", param: "max_tokens",
                 code: "context_length_exceeded"),
            Case(route: "/v1/chat/completions", body: #"{"messages": []}"#, param: "messages"),
            Case(route: "/v1/chat/completions", body: #"{"prompt": "hi"}"#, param: "messages", code: "missing_required_parameter"),
            Case(route: "/v1/chat/completions", body: #"{"messages": [{"content": "hi"}]}"#, param: "messages.0.role",
                 code: "missing_required_parameter"),
            Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "wizard", "content": "hi"}]}"#, param: "messages.0.role"),
            Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user", "content": 5}]}"#, param: "messages.0.content",
                 code: "invalid_type"),
            Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user"}]}"#, param: "messages.0.content",
                 code: "missing_required_parameter"),
            Case(route: "/v1/chat/completions",
                 body: #"{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}"#,
                 param: "messages.0.content.0"),
            Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user", "content": "hi"}], "top_logprobs": 2}"#,
                 param: "top_logprobs"),
            Case(route: "/v1/chat/completions",
                 body: #"{"messages": [{"role": "user", "content": "hi"}], "logprobs": true, "top_logprobs": 21}"#, param: "top_logprobs"),
            Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user", "content": "hi"}], "n": 1.5}"#,
                 param: "n", code: "invalid_type"),
            Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user", "content": "hi"}], "temperature": -1}"#,
                 param: "temperature"),
            Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user", "content": "hi"}], "model": "other"}"#,
                 status: .notFound, param: "model", code: "model_not_found"),
            Case(route: "/v1/chat/completions",
                 body: "{\"messages\": [{\"role\": \"user\", \"content\": \"\(String(repeating: "saga ", count: 600))\"}]}",
                 param: "messages", code: "context_length_exceeded"),
            Case(route: "/v1/chat/completions",
                 body: #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "max_completion_tokens": 5}"#,
                 param: "max_tokens"),
        ]

        @Test(arguments: cases)
        func badRequestIsAnsweredWithTheEnvelope(_ testCase: Case) async throws {
            try await withServer { client in
                let response = try await client.post(testCase.route, json: testCase.body)
                #expect(response.status == testCase.status, "\(String(buffer: response.body))")
                let error = try errorEnvelope(response)
                #expect(error["param"] as? String == testCase.param, "\(error)")
                if let code = testCase.code { #expect(error["code"] as? String == code, "\(error)") }
                #expect(error["type"] as? String == "invalid_request_error")
                // The server still serves after a bad request.
                let healthy = try await client.post("/v1/completions", ["prompt": "ok", "max_tokens": 1])
                #expect(healthy.status == .ok)
            }
        }

        @Test func aBodyOverTheLimitIs413() async throws {
            try await withServer { client in
                let response = try await client.post("/v1/completions", json: "{\"prompt\": \"\(String(repeating: "x", count: 5000))\"}")
                #expect(response.status == .contentTooLarge)
                #expect(try errorEnvelope(response)["code"] as? String == "request_too_large")
            }
        }

        @Test func anUnknownRouteIs404WithTheEnvelope() async throws {
            try await withServer { client in
                let response = try await client.execute(uri: "/v1/engines", method: .get)
                #expect(response.status == .notFound)
                #expect(try errorEnvelope(response)["code"] as? String == "unknown_url")
            }
        }
    }
}
