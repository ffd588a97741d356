import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Server
import Testing

extension ModelRouteTests {
    @Suite struct Operations {
        @Test func healthIs503WhileTheModelLoadsThen200() async throws {
            let (release, gate) = AsyncStream<Void>.makeStream()
            var logger = Logger(label: "raconteur-test")
            logger.logLevel = .error
            let app = try await buildApplication(.testing(), logger: logger) {
                for await _ in release { break }   // hold loading back until the test has looked
                return try TestModel.served()
            }
            try await app.test(.router) { client in
                let loading = try await client.execute(uri: "/health", method: .get)
                #expect(loading.status == .serviceUnavailable)
                #expect(try json(loading)["status"] as? String == "loading")
                let completion = try await client.post("/v1/completions", ["prompt": "hi"])
                #expect(completion.status == .serviceUnavailable)
                #expect(try errorEnvelope(completion)["code"] as? String == "model_loading")
                #expect(try await client.metric("raconteur_model_loaded") == 0)

                gate.yield()
                try await waitUntilHealthy(client)
                #expect(try json(try await client.execute(uri: "/health", method: .get))["status"] as? String == "ok")
                #expect(try await client.metric("raconteur_model_loaded") == 1)
            }
        }

        @Test func modelsListsTheServedModel() async throws {
            try await withServer { client in
                let list = try json(try await client.execute(uri: "/v1/models", method: .get))
                #expect(list["object"] as? String == "list")
                let models = try #require(list["data"] as? [JSONObject])
                #expect(models.count == 1)
                #expect(models.first?["id"] as? String == TestModel.id)
                #expect(models.first?["object"] as? String == "model")
                #expect(models.first?["owned_by"] as? String == "raconteur")

                let one = try await client.execute(uri: "/v1/models/\(TestModel.id)", method: .get)
                #expect(try json(one)["id"] as? String == TestModel.id)
                let unknown = try await client.execute(uri: "/v1/models/gpt-4", method: .get)
                #expect(unknown.status == .notFound)
                #expect(try errorEnvelope(unknown)["code"] as? String == "model_not_found")
            }
        }

        /// Every family, HELP text and series the hand-written exposition had. Bucket bounds are written as swift-prometheus
        /// writes a Double (`le="1.0"` where it used to be `le="1"`), and gauges as `1.0`.
        @Test func metricsKeepEveryNameLabelSetAndHelpText() async throws {
            try await withServer { client in
                _ = try await client.post("/v1/completions", ["prompt": "Hello", "max_tokens": 3, "ignore_eos": true])
                try await waitForMetric(client, "raconteur_batch_sequences_count", toBe: 3)
                let text = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
                var samples: [String: Double] = [:]
                for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                    let cut = try #require(line.lastIndex(of: " "), "not a sample: \(line)")
                    samples[String(line[..<cut])] = try #require(Double(line[line.index(after: cut)...]), "not a value: \(line)")
                }
                let families: [(name: String, type: String, help: String)] = [
                    ("raconteur_http_requests_total", "counter", "HTTP requests answered, by route, method and status."),
                    ("raconteur_prompt_tokens_total", "counter", "Prompt tokens of generations that finished."),
                    ("raconteur_generated_tokens_total", "counter", "Tokens generated."),
                    ("raconteur_time_to_first_token_seconds", "histogram", "Seconds from request arrival to the first generated token."),
                    ("raconteur_token_latency_seconds", "histogram", "Seconds between consecutive generated tokens of one sequence."),
                    ("raconteur_batch_sequences", "histogram", "Sequences computed together in one scheduler step."),
                    ("raconteur_batch_adapter_mixtures", "histogram",
                     "Different adapter mixtures (the base model counts as one) computed together in one scheduler step."),
                    ("raconteur_mixed_adapter_steps_total", "counter",
                     "Scheduler steps whose one batched forward pass served at least two different adapter mixtures."),
                    ("raconteur_step_seconds", "histogram", "Seconds per scheduler step (one batched forward pass)."),
                    ("raconteur_queue_depth", "gauge", "Requests waiting for a batch slot."),
                    ("raconteur_active_sequences", "gauge", "Sequences being generated."),
                    ("raconteur_model_loaded", "gauge", "1 once the model is loaded and serving."),
                ]
                for family in families {
                    #expect(text.contains("# HELP \(family.name) \(family.help)\n"), "HELP of \(family.name)")
                    #expect(text.contains("# TYPE \(family.name) \(family.type)\n"), "TYPE of \(family.name)")
                }
                let buckets: [String: [Double]] = [
                    "raconteur_time_to_first_token_seconds": [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
                    "raconteur_token_latency_seconds": [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
                    "raconteur_batch_sequences": [1, 2, 3, 4, 6, 8, 12, 16, 32, 64],
                    "raconteur_batch_adapter_mixtures": [1, 2, 3, 4, 6, 8, 12, 16],
                    "raconteur_step_seconds": [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
                ]
                var series = [#"raconteur_http_requests_total{route="/v1/completions",method="POST",status="200"}"#,
                              "raconteur_prompt_tokens_total", "raconteur_generated_tokens_total",
                              "raconteur_mixed_adapter_steps_total", "raconteur_queue_depth", "raconteur_active_sequences",
                              "raconteur_model_loaded"]
                for (name, bounds) in buckets {
                    series += bounds.map { "\(name)_bucket{le=\"\($0)\"}" } + ["\(name)_bucket{le=\"+Inf\"}", "\(name)_sum", "\(name)_count"]
                }
                for name in series { #expect(samples[name] != nil, "no series \(name) in\n\(text)") }
                #expect(samples[#"raconteur_batch_sequences_bucket{le="1.0"}"#] == 3)
                #expect(samples["raconteur_generated_tokens_total"] == 3)
                #expect(samples["raconteur_model_loaded"] == 1)
            }
        }

        @Test func metricsCountRequestsTokensAndLatencies() async throws {
            try await withServer { client in
                _ = try await client.post("/v1/completions", ["prompt": "Hello", "max_tokens": 5, "ignore_eos": true])
                _ = try await client.post("/v1/completions", ["prompt": "Hello", "temperature": -1])
                let response = try await client.execute(uri: "/metrics", method: .get)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                #expect(try await client.metric(#"raconteur_http_requests_total{route="/v1/completions",method="POST",status="200"}"#) == 1)
                #expect(try await client.metric(#"raconteur_http_requests_total{route="/v1/completions",method="POST",status="400"}"#) == 1)
                #expect(try await client.metric("raconteur_generated_tokens_total") == 5)
                #expect(try await client.metric("raconteur_prompt_tokens_total") ?? 0 > 0)
                #expect(try await client.metric("raconteur_time_to_first_token_seconds_count") == 1)
                #expect(try await client.metric("raconteur_token_latency_seconds_count") == 4)
                // One prefill step and four decode steps; the last step reports after the response may have gone out.
                try await waitForMetric(client, "raconteur_batch_sequences_count", toBe: 5)
                #expect(try await client.metric("raconteur_queue_depth") == 0)
                #expect(try await client.metric("raconteur_active_sequences") == 0)
            }
        }

        @Test func apiKeysGuardTheAPIButNotHealthOrMetrics() async throws {
            try await withServer(.testing { $0.apiKeys = ["sk-test-1", "sk-test-2"] }) { client in
                let missing = try await client.post("/v1/completions", ["prompt": "hi", "max_tokens": 1])
                #expect(missing.status == .unauthorized)
                #expect(try errorEnvelope(missing)["type"] as? String == "authentication_error")
                let wrong = try await client.post("/v1/completions", ["prompt": "hi", "max_tokens": 1],
                                                  headers: [.authorization: "Bearer sk-test-3"])
                #expect(wrong.status == .unauthorized)
                #expect(try errorEnvelope(wrong)["code"] as? String == "invalid_api_key")
                let notBearer = try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Basic c2stdGVzdC0x"])
                #expect(notBearer.status == .unauthorized)
                let right = try await client.post("/v1/completions", ["prompt": "hi", "max_tokens": 1],
                                                  headers: [.authorization: "Bearer sk-test-2"])
                #expect(right.status == .ok)
                #expect(try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "bearer sk-test-1"]).status == .ok)
                #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
                #expect(try await client.execute(uri: "/metrics", method: .get).status == .ok)
            }
        }

        @Test func aFullQueueIsAnswered429AndACancelledStreamFreesItsSlot() async throws {
            try await withServer(.testing { $0.maxBatch = 1; $0.maxQueued = 0 }) { client in
                let long = Task {
                    try await client.post("/v1/completions", ["prompt": "Tell me a story", "max_tokens": 256, "ignore_eos": true,
                                                              "stream": true])
                }
                try await waitForMetric(client, "raconteur_active_sequences", toBe: 1)
                let refused = try await client.post("/v1/completions", ["prompt": "hi", "max_tokens": 1])
                #expect(refused.status == .tooManyRequests)
                #expect(try errorEnvelope(refused)["code"] as? String == "queue_full")

                // Dropping the streaming request (a client that goes away) cancels its generation at once.
                long.cancel()
                _ = try? await long.value
                try await waitUntilIdle(client)
                let generated = try await client.metric("raconteur_generated_tokens_total") ?? 0
                #expect(generated < 256)
                #expect(try await client.post("/v1/completions", ["prompt": "hi", "max_tokens": 1]).status == .ok)
            }
        }

        @Test func choicesBeyondTheFreeSlotsAre429AndNoneOfThemRuns() async throws {
            try await withServer(.testing { $0.maxBatch = 1; $0.maxQueued = 0 }) { client in
                let refused = try await client.post("/v1/completions", ["prompt": "hi", "n": 2, "max_tokens": 64, "ignore_eos": true])
                #expect(refused.status == .tooManyRequests)
                try await waitUntilIdle(client)
                #expect(try await client.metric("raconteur_generated_tokens_total") ?? 0 < 64)
                #expect(try await client.post("/v1/completions", ["prompt": "hi", "max_tokens": 1]).status == .ok)
            }
        }

        @Test func aRequestOverTheTimeoutIsCancelledAndAnswered504() async throws {
            try await withServer(.testing { $0.requestTimeout = 0.3 }) { client in
                let whole = try await client.post("/v1/completions", ["prompt": "Once", "max_tokens": 256, "ignore_eos": true])
                #expect(whole.status == .gatewayTimeout)
                #expect(try errorEnvelope(whole)["code"] as? String == "request_timeout")

                let streamed = try await client.post("/v1/chat/completions", [
                    "messages": [["role": "user", "content": "Tell me a long story."]], "max_tokens": 256, "ignore_eos": true,
                    "stream": true,
                ])
                #expect(streamed.status == .ok)
                let events = serverSentEvents(streamed)
                #expect(events.last == "[DONE]")
                let error = try #require(try eventObjects(events).last?["error"] as? JSONObject)
                #expect(error["code"] as? String == "request_timeout")
                try await waitUntilIdle(client)
            }
        }
    }
}

/// Waits until the scheduler has nothing queued or running (cancelled sequences leave at its next step).
func waitUntilIdle(_ client: any TestClientProtocol) async throws {
    try await waitForMetric(client, "raconteur_queue_depth", toBe: 0)
    try await waitForMetric(client, "raconteur_active_sequences", toBe: 0)
}

/// Polls /metrics until `name` has `value` (the scheduler updates its counts between steps).
func waitForMetric(_ client: any TestClientProtocol, _ name: String, toBe value: Double) async throws {
    for _ in 0..<1000 {
        if try await client.metric(name) == value { return }
        try await Task.sleep(nanoseconds: 10_000_000)
    }
    Issue.record("\(name) never reached \(value)")
}
