import Adapters
import Foundation
import GGUF
import Hummingbird
import HummingbirdTesting
import Model
import Server
import Testing

/// Adapters over HTTP: listing, loading, replacing and unloading them, and choosing a mixture per request by
/// trade-off, by explicit list, or by `model: "<model>:<adapter>"`.
@Suite(.serialized, .enabled(if: TestModel.isAvailable, "needs models/SmolLM2-135M-Instruct.Q4_1.gguf (scripts/setup.sh fetches it)"))
struct AdapterRouteTests {
    /// A directory with two trade-off grid adapters (w = (1, 0) and (0, 1)) and one plain adapter.
    static func adapterDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("raconteur-adapters-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try writeAdapter(dir + "/concise1.00-detailed0.00.gguf", weights: [1, 0], seed: 1)
        try writeAdapter(dir + "/concise0.00-detailed1.00.gguf", weights: [0, 1], seed: 2)
        try writeAdapter(dir + "/plain.gguf", weights: nil, seed: 3)
        return dir
    }

    static func writeAdapter(_ path: String, weights: [Double]?, seed: UInt64) throws {
        let served = try TestModel.served()
        let config = served.model.config
        let adapter = LoRAAdapter.initialised(config: config, rank: 4, alpha: 4, projections: [.query, .value, .down], seed: seed)
        var state = seed
        for (_, m) in adapter.orderedMatrices {
            for i in 0..<(m.outputs * m.rank) {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                m.b[i] = (Float(state >> 40) / Float(1 << 24) - 0.5) * 0.2
            }
        }
        let metadata = AdapterMetadata(objectives: weights == nil ? [] : ["concise", "detailed"], weights: weights ?? [],
                                       method: weights == nil ? nil : "raco", baseFingerprint: BaseModelFingerprint.of(served.model.file))
        try AdapterFile.write(adapter, metadata: metadata, architecture: config.architecture.rawValue, to: path)
    }

    static func configuration(_ dir: String?) -> ServerConfiguration {
        .testing { $0.adaptersDirectory = dir }
    }

    static func completion(_ extra: JSONObject) -> JSONObject {
        var body: JSONObject = ["prompt": "The capital of France is", "max_tokens": 4, "temperature": 0]
        for (k, v) in extra { body[k] = v }
        return body
    }

    @Test func listsTheAdaptersOfTheDirectoryAndAsModels() async throws {
        let dir = try Self.adapterDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await withServer(Self.configuration(dir)) { client in
            let list = try json(try await client.execute(uri: "/v1/adapters", method: .get))
            let data = try #require(list["data"] as? [JSONObject])
            #expect(data.map { $0["id"] as? String } == ["concise0.00-detailed1.00", "concise1.00-detailed0.00", "plain"])
            #expect(data.allSatisfy { $0["version"] as? Int == 1 && $0["rank"] as? Int == 4 && $0["object"] as? String == "adapter" })
            #expect(data[1]["weights"] as? [Double] == [1, 0])
            #expect(data[1]["method"] as? String == "raco")

            let models = try json(try await client.execute(uri: "/v1/models", method: .get))
            let ids = (models["data"] as? [JSONObject] ?? []).compactMap { $0["id"] as? String }
            #expect(ids == [TestModel.id] + data.compactMap { $0["id"] as? String }.map { "\(TestModel.id):\($0)" })
            #expect(try await client.execute(uri: "/v1/models/\(TestModel.id):plain", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/v1/models/\(TestModel.id):nope", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/v1/adapters/plain", method: .get).status == .ok)
            let missing = try await client.execute(uri: "/v1/adapters/nope", method: .get)
            #expect(missing.status == .notFound)
            #expect(try errorEnvelope(missing)["code"] as? String == "adapter_not_found")
        }
    }

    @Test func aTradeoffResolvesToTheGridAndTheResponseReportsTheMixture() async throws {
        let dir = try Self.adapterDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await withServer(Self.configuration(dir)) { client in
            let response = try await client.post("/v1/completions", Self.completion(["tradeoff": ["concise": 0.7, "detailed": 0.3]]))
            #expect(response.status == .ok)
            let mixture = try #require(try json(response)["mixture"] as? JSONObject)
            #expect(mixture["base_model_only"] as? Bool == false)
            #expect(mixture["tradeoff"] as? [String: Double] == ["concise": 0.7, "detailed": 0.3])
            let entries = try #require(mixture["adapters"] as? [JSONObject])
            #expect(entries.count == 2)
            let scales = Dictionary(uniqueKeysWithValues: entries.map { ($0["id"] as! String, $0["scale"] as! Double) })
            #expect(abs(scales["concise1.00-detailed0.00", default: 0] - 0.7) < 1e-9)
            #expect(abs(scales["concise0.00-detailed1.00", default: 0] - 0.3) < 1e-9)
            #expect(entries.allSatisfy { $0["version"] as? Int == 1 })

            // Weights are normalised: (2, 0) is the w = (1, 0) grid point itself.
            let corner = try json(try await client.post("/v1/completions", Self.completion(["tradeoff": ["concise": 2]])))
            let cornerEntries = (corner["mixture"] as? JSONObject)?["adapters"] as? [JSONObject] ?? []
            #expect(cornerEntries.map { $0["id"] as? String } == ["concise1.00-detailed0.00"])
            #expect(cornerEntries.first?["scale"] as? Double == 1)

            // The chat route takes the same fields, and streaming chunks carry the mixture too.
            let chat = try await client.post("/v1/chat/completions", [
                "messages": [["role": "user", "content": "Hi"]], "max_tokens": 3, "temperature": 0, "stream": true,
                "tradeoff": ["detailed": 1]])
            let chunks = try eventObjects(serverSentEvents(chat))
            #expect(!chunks.isEmpty && chunks.allSatisfy {
                (($0["mixture"] as? JSONObject)?["adapters"] as? [JSONObject])?.first?["id"] as? String == "concise0.00-detailed1.00"
            })
        }
    }

    @Test func explicitAdaptersAndModelSuffixPickAdaptersAndChangeTheOutput() async throws {
        let dir = try Self.adapterDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await withServer(Self.configuration(dir)) { client in
            let base = try json(try await client.post("/v1/completions", Self.completion(["max_tokens": 12, "ignore_eos": true])))
            #expect((base["mixture"] as? JSONObject)?["base_model_only"] as? Bool == true)
            let byModel = try json(try await client.post("/v1/completions", Self.completion([
                "model": "\(TestModel.id):plain", "max_tokens": 12, "ignore_eos": true])))
            let byList = try json(try await client.post("/v1/completions", Self.completion([
                "adapters": [["id": "plain", "scale": 1]], "max_tokens": 12, "ignore_eos": true])))
            let text = { (body: JSONObject) in choices(body).first?["text"] as? String }
            #expect(text(byModel) == text(byList))
            // The adapter moves the logprobs (a confident greedy text may stay the same).
            func firstLogprob(_ extra: JSONObject) async throws -> Double {
                let body = try json(try await client.post("/v1/completions", Self.completion(extra.merging(["logprobs": 1]) { $1 })))
                let logprobs = choices(body).first?["logprobs"] as? JSONObject
                return try #require((logprobs?["token_logprobs"] as? [Double])?.first)
            }
            let baseLogprob = try await firstLogprob([:])
            let adaptedLogprob = try await firstLogprob(["adapters": [["id": "plain", "scale": 1]]])
            #expect(abs(adaptedLogprob - baseLogprob) > 1e-3, "the adapter must change the logprobs")
            let entries = (byModel["mixture"] as? JSONObject)?["adapters"] as? [JSONObject] ?? []
            #expect(entries.map { $0["id"] as? String } == ["plain"])
            // Scale 0 is the base model exactly.
            let zero = try json(try await client.post("/v1/completions", Self.completion([
                "adapters": [["id": "plain", "scale": 0]], "max_tokens": 12, "ignore_eos": true])))
            #expect(text(zero) == text(base))
        }
    }

    @Test func fourTradeoffsInOneBatchEachEqualTheirRunAlone() async throws {
        let dir = try Self.adapterDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await withServer(Self.configuration(dir)) { client in
            let weights = [1.0, 0.7, 0.3, 0.0]
            func body(_ w: Double) -> JSONObject {
                Self.completion(["tradeoff": ["concise": w, "detailed": 1 - w], "max_tokens": 10, "ignore_eos": true])
            }
            var alone: [String] = []
            for w in weights {
                alone.append(choices(try json(try await client.post("/v1/completions", body(w)))).first?["text"] as? String ?? "")
            }
            let mixedBefore = try await client.metric("raconteur_mixed_adapter_steps_total") ?? 0
            let together = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for (i, w) in weights.enumerated() {
                    group.addTask {
                        let response = try await client.post("/v1/completions", body(w))
                        return (i, choices(try json(response)).first?["text"] as? String ?? "")
                    }
                }
                var texts = Array(repeating: "", count: weights.count)
                for try await (i, text) in group { texts[i] = text }
                return texts
            }
            #expect(together == alone)
            let mixedAfter = try await client.metric("raconteur_mixed_adapter_steps_total") ?? 0
            #expect(mixedAfter - mixedBefore >= 5, "the four trade-offs must share batched steps")
        }
    }

    @Test func withoutTrainedAdaptersATradeoffIsServedByTheBaseModelAndSaysSo() async throws {
        try await withServer(Self.configuration(nil)) { client in
            let response = try await client.post("/v1/completions", Self.completion(["tradeoff": ["concise": 1, "detailed": 1]]))
            #expect(response.status == .ok)
            let mixture = try #require(try json(response)["mixture"] as? JSONObject)
            #expect(mixture["base_model_only"] as? Bool == true)
            #expect(mixture["tradeoff"] as? [String: Double] == ["concise": 0.5, "detailed": 0.5])
            #expect((mixture["note"] as? String)?.contains("base model") == true)
            // Loading needs an adapters directory.
            let load = try await client.post("/v1/adapters", ["id": "x"])
            #expect(load.status == .forbidden)
            #expect(try errorEnvelope(load)["code"] as? String == "adapter_loading_disabled")
        }
    }

    @Test(arguments: [
        (#"{"prompt":"x","tradeoff":{"funny":1}}"#, 400, "tradeoff", "unknown_objective"),
        (#"{"prompt":"x","tradeoff":{"concise":-1,"detailed":2}}"#, 400, "tradeoff", "invalid_value"),
        (#"{"prompt":"x","tradeoff":{"concise":0,"detailed":0}}"#, 400, "tradeoff", "invalid_value"),
        (#"{"prompt":"x","tradeoff":{}}"#, 400, "tradeoff", "invalid_value"),
        (#"{"prompt":"x","tradeoff":{"concise":"a lot"}}"#, 400, "tradeoff.concise", "invalid_type"),
        (#"{"prompt":"x","tradeoff":[0.5,0.5]}"#, 400, "tradeoff", "invalid_type"),
        (#"{"prompt":"x","tradeoff":{"concise":1},"adapters":[{"id":"plain"}]}"#, 400, "adapters", "conflicting_parameters"),
        (#"{"prompt":"x","model":"SmolLM2-135M-Instruct.Q4_1:plain","tradeoff":{"concise":1}}"#, 400, "model", "conflicting_parameters"),
        (#"{"prompt":"x","adapters":[{"id":"nope"}]}"#, 404, "adapters.0.id", "adapter_not_found"),
        (#"{"prompt":"x","adapters":[{"id":"plain","scale":100}]}"#, 400, "adapters.0.scale", "invalid_value"),
        (#"{"prompt":"x","adapters":[{"id":"plain"},{"id":"plain"}]}"#, 400, "adapters.1.id", "invalid_value"),
        (#"{"prompt":"x","adapters":[{"id":"plain"},{"id":"plain"},{"id":"plain"},{"id":"plain"},{"id":"plain"}]}"#, 400, "adapters", "invalid_value"),
        (#"{"prompt":"x","adapters":[{"scale":1}]}"#, 400, "adapters.0.id", "missing_required_parameter"),
        (#"{"prompt":"x","model":"SmolLM2-135M-Instruct.Q4_1:nope"}"#, 404, "model", "adapter_not_found"),
        (#"{"prompt":"x","model":"other:plain"}"#, 404, "model", "model_not_found"),
    ])
    func badAdapterChoicesAreClearErrors(body: String, status: Int, param: String, code: String) async throws {
        let dir = try Self.adapterDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await withServer(Self.configuration(dir)) { client in
            for route in ["/v1/completions", "/v1/chat/completions"] {
                let payload = route == "/v1/completions" ? body
                    : body.replacingOccurrences(of: #""prompt":"x""#, with: #""messages":[{"role":"user","content":"x"}]"#)
                let response = try await client.post(route, json: payload)
                #expect(Int(response.status.code) == status, "\(route) \(body): \(String(buffer: response.body))")
                let error = try errorEnvelope(response)
                #expect(error["param"] as? String == param, "\(body)")
                #expect(error["code"] as? String == code, "\(body)")
            }
        }
    }

    @Test func loadReplaceAndUnloadAtRunTime() async throws {
        let dir = try Self.adapterDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await withServer(Self.configuration(dir)) { client in
            try Self.writeAdapter(dir + "/fresh.gguf", weights: nil, seed: 9)
            let created = try await client.post("/v1/adapters", ["id": "fresh"])
            #expect(created.status == .created)
            #expect(try json(created)["version"] as? Int == 1)

            let replaced = try await client.post("/v1/adapters", ["id": "fresh", "path": "plain.gguf"])
            #expect(replaced.status == .ok)
            let body = try json(replaced)
            #expect(body["version"] as? Int == 2)
            #expect(body["replaced_version"] as? Int == 1)
            let used = try json(try await client.post("/v1/completions", Self.completion(["adapters": [["id": "fresh"]]])))
            #expect(((used["mixture"] as? JSONObject)?["adapters"] as? [JSONObject])?.first?["version"] as? Int == 2)

            let deleted = try await client.execute(uri: "/v1/adapters/fresh", method: .delete)
            #expect(deleted.status == .ok)
            #expect(try json(deleted)["deleted"] as? Bool == true)
            #expect(try await client.execute(uri: "/v1/adapters/fresh", method: .delete).status == .notFound)
            let gone = try await client.post("/v1/completions", Self.completion(["adapters": [["id": "fresh"]]]))
            #expect(gone.status == .notFound)
        }
    }

    @Test func badLoadsAreClearErrorsAndLeaveTheServedVersionAlone() async throws {
        let dir = try Self.adapterDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Half of a valid adapter file, and a file that is not GGUF at all.
        let whole = try Data(contentsOf: URL(fileURLWithPath: dir + "/plain.gguf"))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: dir + "/half.gguf"))
        try Data("not an adapter".utf8).write(to: URL(fileURLWithPath: dir + "/junk.gguf"))
        try await withServer(Self.configuration(dir)) { client in
            // Neither broken file was loaded at start; the good ones were.
            let ids = (try json(try await client.execute(uri: "/v1/adapters", method: .get))["data"] as? [JSONObject] ?? [])
                .compactMap { $0["id"] as? String }
            #expect(ids == ["concise0.00-detailed1.00", "concise1.00-detailed0.00", "plain"])

            let cases: [(JSONObject, Int, String, String)] = [
                (["id": "plain", "path": "half.gguf"], 400, "path", "invalid_adapter"),
                (["id": "plain", "path": "junk.gguf"], 400, "path", "invalid_adapter"),
                (["id": "plain", "path": "../plain.gguf"], 400, "path", "invalid_value"),
                (["id": "plain", "path": "/etc/passwd"], 400, "path", "invalid_value"),
                (["id": "plain", "path": "missing.gguf"], 404, "path", "adapter_file_not_found"),
                (["id": "bad name!"], 400, "id", "invalid_value"),
                (["path": "plain.gguf"], 400, "id", "missing_required_parameter"),
            ]
            for (body, status, param, code) in cases {
                let response = try await client.post("/v1/adapters", body)
                #expect(Int(response.status.code) == status, "\(body): \(String(buffer: response.body))")
                let error = try errorEnvelope(response)
                #expect(error["param"] as? String == param, "\(body)")
                #expect(error["code"] as? String == code, "\(body)")
            }
            let plain = try json(try await client.execute(uri: "/v1/adapters/plain", method: .get))
            #expect(plain["version"] as? Int == 1, "failed loads must not replace the served version")
        }
    }
}
