import Engine
import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import Testing

/// Route tests on the real SmolLM2 model, one at a time: they share two cores and one model.
@Suite(.serialized, .enabled(if: TestModel.isAvailable, "needs models/SmolLM2-135M-Instruct.Q4_1.gguf (scripts/setup.sh fetches it)"))
enum ModelRouteTests {}

extension ModelRouteTests {
    @Suite struct Completions {
        static let prompt = "The capital of France is"

        @Test func greedyCompletionHasOpenAIsShape() async throws {
            try await withServer { client in
                let response = try await client.post("/v1/completions", [
                    "model": TestModel.id, "prompt": Self.prompt, "max_tokens": 8, "temperature": 0, "ignore_eos": true,
                ])
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let body = try json(response)
                let id = try #require(body["id"] as? String)
                #expect(id.hasPrefix("cmpl-"))
                #expect(body["object"] as? String == "text_completion")
                #expect(body["model"] as? String == TestModel.id)
                #expect(body["created"] is Int)
                let choice = try #require(choices(body).first)
                #expect(choice["index"] as? Int == 0)
                #expect((choice["text"] as? String)?.isEmpty == false)
                #expect(choice["logprobs"] is NSNull)
                #expect(choice["finish_reason"] as? String == "length")
                #expect(choice["completion_id"] as? String == id + "-0")
                let usage = try #require(body["usage"] as? JSONObject)
                let promptTokens = try TestModel.served().tokenizer.encode(Self.prompt).count
                #expect(usage["prompt_tokens"] as? Int == promptTokens)
                #expect(usage["completion_tokens"] as? Int == 8)
                #expect(usage["total_tokens"] as? Int == promptTokens + 8)
            }
        }

        @Test func defaultsToSixteenTokensAndTheServedModel() async throws {
            try await withServer { client in
                let body = try json(try await client.post("/v1/completions", ["prompt": Self.prompt, "ignore_eos": true]))
                #expect((body["usage"] as? JSONObject)?["completion_tokens"] as? Int == 16)
                #expect(body["model"] as? String == TestModel.id)
            }
        }

        @Test func tokenPromptsAndTextPromptsGiveTheSameContinuation() async throws {
            let tokens = try TestModel.served().tokenizer.encode(Self.prompt)
            try await withServer { client in
                let fromText = try json(try await client.post("/v1/completions", ["prompt": Self.prompt, "max_tokens": 6, "temperature": 0]))
                let fromTokens = try json(try await client.post("/v1/completions", ["prompt": tokens, "max_tokens": 6, "temperature": 0]))
                let nested = try json(try await client.post("/v1/completions", ["prompt": [tokens], "max_tokens": 6, "temperature": 0]))
                #expect(choices(fromText).first?["text"] as? String == choices(fromTokens).first?["text"] as? String)
                #expect(choices(fromText).first?["text"] as? String == choices(nested).first?["text"] as? String)
            }
        }

        @Test func specialTokensWrittenInAPromptAreParsedAsSuch() async throws {
            let tokenizer = try TestModel.served().tokenizer
            let imStart = try #require(tokenizer.tokenID("<|im_start|>"))
            let expected = tokenizer.encode("<|im_start|>user")
            #expect(expected.first == imStart)
            try await withServer { client in
                let body = try json(try await client.post("/v1/completions", [
                    "prompt": "<|im_start|>user", "max_tokens": 0, "echo": true, "logprobs": 0,
                ]))
                let tokens = try #require((choices(body).first?["logprobs"] as? JSONObject)?["tokens"] as? [String])
                #expect(tokens.first == "<|im_start|>")
                #expect(tokens.count == expected.count)
                #expect((body["usage"] as? JSONObject)?["prompt_tokens"] as? Int == expected.count)
            }
        }

        @Test func severalPromptsTimesNGiveIndexedChoicesWithDistinctIDs() async throws {
            try await withServer { client in
                let body = try json(try await client.post("/v1/completions", [
                    "prompt": ["Once upon a time", "The recipe calls for"], "n": 2, "max_tokens": 4, "temperature": 0,
                ]))
                let all = choices(body)
                #expect(all.map { $0["index"] as? Int } == [0, 1, 2, 3])
                #expect(Set(all.compactMap { $0["completion_id"] as? String }).count == 4)
                // Greedy choices of the same prompt agree.
                #expect(all[0]["text"] as? String == all[1]["text"] as? String)
                #expect(all[2]["text"] as? String == all[3]["text"] as? String)
                let tokenizer = try TestModel.served().tokenizer
                let promptTokens = tokenizer.encode("Once upon a time").count + tokenizer.encode("The recipe calls for").count
                #expect((body["usage"] as? JSONObject)?["prompt_tokens"] as? Int == promptTokens)
            }
        }

        @Test func aSeedReproducesSampledTextAndChoiceIUsesSeedPlusI() async throws {
            try await withServer { client in
                let request: JSONObject = ["prompt": "My favourite animal is", "max_tokens": 12, "temperature": 1.0,
                                           "seed": 1234, "n": 2, "ignore_eos": true]
                let first = choices(try json(try await client.post("/v1/completions", request))).map { $0["text"] as? String }
                let again = choices(try json(try await client.post("/v1/completions", request))).map { $0["text"] as? String }
                #expect(first == again)
                var single = request
                single["n"] = 1
                single["seed"] = 1235
                let seedPlusOne = choices(try json(try await client.post("/v1/completions", single))).first?["text"] as? String
                #expect(first[1] == seedPlusOne)
            }
        }

        @Test func logprobsReportEachTokenWithItsAlternatives() async throws {
            try await withServer { client in
                let body = try json(try await client.post("/v1/completions", [
                    "prompt": Self.prompt, "max_tokens": 5, "temperature": 0, "logprobs": 3, "ignore_eos": true,
                ]))
                let choice = try #require(choices(body).first)
                let logprobs = try #require(choice["logprobs"] as? JSONObject)
                let tokens = try #require(logprobs["tokens"] as? [String])
                let tokenLogprobs = try #require(logprobs["token_logprobs"] as? [Double])
                let top = try #require(logprobs["top_logprobs"] as? [[String: Double]])
                let offsets = try #require(logprobs["text_offset"] as? [Int])
                #expect(tokens.count == 5 && tokenLogprobs.count == 5 && top.count == 5 && offsets.count == 5)
                #expect(tokens.joined() == choice["text"] as? String)
                for (logprob, alternatives) in zip(tokenLogprobs, top) {
                    #expect(logprob <= 0)
                    #expect((1...3).contains(alternatives.count))
                    // Greedy: the chosen token is the most likely one.
                    #expect(abs((alternatives.values.max() ?? 0) - logprob) < 1e-4)
                }
                #expect(offsets.first == 0)
            }
        }

        @Test func echoWithLogprobsAndNoTokensScoresThePrompt() async throws {
            let served = try TestModel.served()
            let tokens = served.tokenizer.encode(Self.prompt)
            let expected = try Evaluation.teacherForcedLogprobs(model: served.model, tokens: tokens, scoreFrom: 1, topCount: 2)
            try await withServer { client in
                let body = try json(try await client.post("/v1/completions", [
                    "prompt": Self.prompt, "max_tokens": 0, "echo": true, "logprobs": 2,
                ]))
                let choice = try #require(choices(body).first)
                #expect(choice["text"] as? String == Self.prompt)
                #expect(choice["finish_reason"] as? String == "length")
                let logprobs = try #require(choice["logprobs"] as? JSONObject)
                let values = try #require(logprobs["token_logprobs"] as? [Any])
                #expect(values.count == tokens.count)
                #expect(values.first is NSNull)
                #expect((logprobs["top_logprobs"] as? [Any])?.first is NSNull)
                for (value, reference) in zip(values.dropFirst(), expected) {
                    #expect(abs((value as? Double ?? 0) - Double(reference.logprob)) < 1e-5)
                }
                #expect((body["usage"] as? JSONObject)?["completion_tokens"] as? Int == 0)
            }
        }

        @Test func echoRepeatsThePromptBeforeTheCompletion() async throws {
            try await withServer { client in
                let body = try json(try await client.post("/v1/completions", [
                    "prompt": Self.prompt, "max_tokens": 3, "echo": true, "temperature": 0, "logprobs": 1,
                ]))
                let choice = try #require(choices(body).first)
                let text = try #require(choice["text"] as? String)
                #expect(text.hasPrefix(Self.prompt) && text.count > Self.prompt.count)
                let logprobs = try #require(choice["logprobs"] as? JSONObject)
                let promptTokens = try TestModel.served().tokenizer.encode(Self.prompt).count
                #expect((logprobs["tokens"] as? [String])?.count == promptTokens + 3)
            }
        }

        @Test func aStopSequenceEndsTheTextJustBeforeIt() async throws {
            try await withServer { client in
                let request: JSONObject = ["prompt": "Count: 1, 2, 3,", "max_tokens": 24, "temperature": 0, "ignore_eos": true]
                let full = try #require(choices(try json(try await client.post("/v1/completions", request))).first?["text"] as? String)
                let words = full.split(separator: " ")
                try #require(words.count >= 4, "need a few words to pick a stop sequence from: \(full)")
                let stop = String(words[2])
                var stopped = request
                stopped["stop"] = [stop, "never-generated-sequence"]
                let choice = try #require(choices(try json(try await client.post("/v1/completions", stopped))).first)
                let text = try #require(choice["text"] as? String)
                #expect(choice["finish_reason"] as? String == "stop")
                #expect(full.hasPrefix(text + stop))
                #expect(!text.contains(stop))
            }
        }

        @Test func streamingSendsChunksThatAddUpToTheWholeCompletion() async throws {
            try await withServer { client in
                let request: JSONObject = ["prompt": Self.prompt, "max_tokens": 10, "temperature": 0, "ignore_eos": true]
                let whole = try json(try await client.post("/v1/completions", request))
                var streamed = request
                streamed["stream"] = true
                streamed["stream_options"] = ["include_usage": true]
                let response = try await client.post("/v1/completions", streamed)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream")
                let events = serverSentEvents(response)
                #expect(events.last == "[DONE]")
                let chunks = try eventObjects(events)
                let id = chunks.first?["id"] as? String
                #expect(id?.hasPrefix("cmpl-") == true)
                #expect(chunks.allSatisfy { $0["id"] as? String == id && $0["object"] as? String == "text_completion" })
                let choiceChunks = chunks.flatMap(choices)
                let text = choiceChunks.compactMap { $0["text"] as? String }.joined()
                #expect(text == choices(whole).first?["text"] as? String)
                #expect(choiceChunks.last?["finish_reason"] as? String == "length")
                #expect(choiceChunks.dropLast().allSatisfy { $0["finish_reason"] is NSNull })
                let usage = try #require(chunks.last?["usage"] as? JSONObject)
                #expect(usage["completion_tokens"] as? Int == 10)
                #expect(choices(chunks.last ?? [:]).isEmpty)
            }
        }

        @Test func streamingNChoicesInterleavesThemByIndex() async throws {
            try await withServer { client in
                let response = try await client.post("/v1/completions", [
                    "prompt": Self.prompt, "max_tokens": 6, "temperature": 0, "n": 2, "stream": true, "ignore_eos": true,
                ])
                let chunks = try eventObjects(serverSentEvents(response)).flatMap(choices)
                let texts = (0..<2).map { index in
                    chunks.filter { $0["index"] as? Int == index }.compactMap { $0["text"] as? String }.joined()
                }
                #expect(texts[0] == texts[1] && !texts[0].isEmpty)
                #expect(chunks.filter { $0["finish_reason"] as? String == "length" }.count == 2)
            }
        }

        @Test func nChoicesAreComputedInOneBatch() async throws {
            try await withServer { client in
                _ = try await client.post("/v1/completions", ["prompt": Self.prompt, "max_tokens": 8, "n": 4, "ignore_eos": true])
                // Every step's batch size is observed; with 4 choices and 4 slots some step must hold more than one.
                let singleSteps = try await client.metric("raconteur_batch_sequences_bucket{le=\"1.0\"}") ?? 0
                let allSteps = try await client.metric("raconteur_batch_sequences_count") ?? 0
                #expect(allSteps > singleSteps)
            }
        }
    }
}
