import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import Testing

/// Adapter history over HTTP: versions numbered by the store and kept across a restart, rollback, pinning with
/// `model: "<model>:<adapter>@<n>"`, pruning to `adapters.keep_versions`, and the per-version metrics.
@Suite(.serialized, .enabled(if: TestModel.isAvailable, "needs models/SmolLM2-135M-Instruct.Q4_1.gguf (scripts/setup.sh fetches it)"))
struct AdapterHistoryRouteTests {
    static func versions(_ client: any TestClientProtocol, _ id: String) async throws -> [JSONObject] {
        let response = try await client.execute(uri: "/v1/adapters/\(id)/versions", method: .get)
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        return try json(response)["data"] as? [JSONObject] ?? []
    }

    static func served(_ client: any TestClientProtocol, _ id: String) async throws -> Int? {
        try json(try await client.execute(uri: "/v1/adapters/\(id)", method: .get))["version"] as? Int
    }

    /// (text, mixture entry) of a greedy completion with `model`.
    static func complete(_ client: any TestClientProtocol, model: String) async throws -> (String, JSONObject) {
        let response = try await client.post("/v1/completions", ["model": model, "prompt": "The capital of France is",
                                                                  "max_tokens": 6, "temperature": 0, "ignore_eos": true])
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        let body = try json(response)
        let entry = try #require(((body["mixture"] as? JSONObject)?["adapters"] as? [JSONObject])?.first)
        return (choices(body).first?["text"] as? String ?? "", entry)
    }

    static func expectError(_ response: TestResponse, _ status: Int, _ code: String, param: String?,
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(Int(response.status.code) == status, "\(String(buffer: response.body))", sourceLocation: sourceLocation)
        let error = try errorEnvelope(response)
        #expect(error["code"] as? String == code, sourceLocation: sourceLocation)
        #expect(error["param"] as? String == param, sourceLocation: sourceLocation)
    }

    @Test func versionsRollbackPinningAndPruningSurviveARestart() async throws {
        let dir = try AdapterRouteTests.adapterDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (file, seed) in [("v2.gguf", UInt64(4)), ("v3.gguf", 5), ("v4.gguf", 6)] {
            try AdapterRouteTests.writeAdapter(dir + "/" + file, weights: nil, seed: seed)
        }
        let configuration = ServerConfiguration.testing {
            $0.adaptersDirectory = dir
            $0.keepVersions = 3
        }
        defer { try? FileManager.default.removeItem(atPath: configuration.storePath) }
        let model = TestModel.id
        let pinnedText = PinnedText()

        try await withServer(configuration) { client in
            // Every file of the directory was recorded as version 1 of its name at start (v2.gguf … included).
            var rows = try await Self.versions(client, "plain")
            #expect(rows.count == 1)
            #expect(rows.first?["version"] as? Int == 1 && rows.first?["active"] as? Bool == true && rows.first?["served"] as? Bool == true)
            #expect((rows.first?["sha256"] as? String)?.count == 64)
            #expect(rows.first?["pruned"] as? Bool == false)

            for (file, expected) in [("v2.gguf", 2), ("v3.gguf", 3)] {
                let loaded = try await client.post("/v1/adapters", ["id": "plain", "path": file])
                #expect(loaded.status == .ok)
                #expect(try json(loaded)["version"] as? Int == expected)
            }
            #expect(FileManager.default.fileExists(atPath: dir + "/.history/plain/v3.gguf"))

            let (_, current) = try await Self.complete(client, model: "\(model):plain")
            #expect(current["version"] as? Int == 3 && current["pinned"] == nil)
            let (textAt1, pinned) = try await Self.complete(client, model: "\(model):plain@1")
            #expect(pinned["version"] as? Int == 1 && pinned["pinned"] as? Bool == true)
            pinnedText.set(textAt1)
            #expect(try await Self.served(client, "plain") == 3, "pinning serves one request, it does not roll back")

            rows = try await Self.versions(client, "plain")
            #expect(rows.map { $0["version"] as? Int } == [1, 2, 3])
            #expect(rows.map { $0["completions"] as? Int } == [1, 0, 1])
            #expect(rows.map { $0["completion_tokens"] as? Int } == [6, 0, 6])

            // Errors, each in the envelope.
            try Self.expectError(try await client.post("/v1/adapters/plain/rollback", ["version": 9]), 404, "adapter_version_not_found", param: "version")
            try Self.expectError(try await client.post("/v1/adapters/plain/rollback", ["version": 0]), 400, "invalid_value", param: "version")
            try Self.expectError(try await client.post("/v1/adapters/plain/rollback", ["version": 1.5]), 400, "invalid_type", param: "version")
            try Self.expectError(try await client.post("/v1/adapters/plain/rollback", [:]), 400, "missing_required_parameter", param: "version")
            try Self.expectError(try await client.post("/v1/adapters/plain/rollback", json: "[1]"), 400, "invalid_json", param: nil)
            try Self.expectError(try await client.post("/v1/adapters/nothing/rollback", ["version": 1]), 404, "adapter_not_found", param: "id")
            try Self.expectError(try await client.execute(uri: "/v1/adapters/nothing/versions", method: .get), 404, "adapter_not_found", param: "id")
            for bad in ["@0", "@x", "@", "@99999999999", "@-1"] {
                try Self.expectError(try await client.post("/v1/completions", ["model": "\(model):plain\(bad)", "prompt": "Hi", "max_tokens": 1]),
                                     400, "invalid_value", param: "model")
            }
            try Self.expectError(try await client.post("/v1/completions", ["model": "\(model):plain@7", "prompt": "Hi", "max_tokens": 1]),
                                 404, "adapter_version_not_found", param: "model")

            let rolled = try await client.post("/v1/adapters/plain/rollback", ["version": 1])
            #expect(rolled.status == .ok, "\(String(buffer: rolled.body))")
            #expect(try json(rolled)["version"] as? Int == 1 && json(rolled)["replaced_version"] as? Int == 3)
            #expect(try await Self.served(client, "plain") == 1)
            let (textAfter, entry) = try await Self.complete(client, model: "\(model):plain")
            #expect(entry["version"] as? Int == 1)
            #expect(textAfter == textAt1, "the rolled-back version is the pinned one, token for token")
            // The served file is the rolled-back version's bytes, so the directory alone says what serves.
            #expect(FileManager.default.contents(atPath: dir + "/plain.gguf") == FileManager.default.contents(atPath: dir + "/.history/plain/v1.gguf"))
            #expect(try await Self.versions(client, "plain").map { $0["active"] as? Bool } == [true, false, false])
        }

        // A restart on the same store and directory serves version 1 again, and numbers go on from 3.
        try await withServer(configuration) { client in
            #expect(try await Self.served(client, "plain") == 1)
            let (text, _) = try await Self.complete(client, model: "\(model):plain")
            #expect(text == pinnedText.value)
            var rows = try await Self.versions(client, "plain")
            #expect(rows.map { $0["version"] as? Int } == [1, 2, 3])
            #expect(rows.map { $0["served"] as? Bool } == [true, false, false])
            #expect(rows.first?["completions"] as? Int == 3, "completions served by a version count across restarts")

            // Version 4 makes four; keep_versions = 3 prunes the oldest: 1 (4 serves now).
            let loaded = try await client.post("/v1/adapters", ["id": "plain", "path": "v4.gguf"])
            #expect(try json(loaded)["version"] as? Int == 4)
            rows = try await Self.versions(client, "plain")
            #expect(rows.map { $0["pruned"] as? Bool } == [true, false, false, false])
            #expect(!FileManager.default.fileExists(atPath: dir + "/.history/plain/v1.gguf"))
            #expect(FileManager.default.fileExists(atPath: dir + "/.history/plain/v2.gguf"))
            try Self.expectError(try await client.post("/v1/adapters/plain/rollback", ["version": 1]), 409, "adapter_version_pruned", param: "version")
            try Self.expectError(try await client.post("/v1/completions", ["model": "\(model):plain@1", "prompt": "Hi", "max_tokens": 1]),
                                 404, "adapter_version_not_found", param: "model")
            #expect(try await client.post("/v1/adapters/plain/rollback", ["version": 3]).status == .ok)

            // The metrics label the kept versions only (pruned 1 has no series).
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains(#"raconteur_adapter_version_served{adapter="plain",version="3"} 1.0"#), "\(metrics)")
            #expect(metrics.contains(#"raconteur_adapter_version_served{adapter="plain",version="4"} 0.0"#))
            #expect(metrics.contains(#"raconteur_adapter_version_completions{adapter="plain",version="3"} 1.0"#))
            #expect(metrics.contains(#"raconteur_adapter_version_completion_tokens{adapter="plain",version="3"} 6.0"#))
            #expect(!metrics.contains(#"adapter="plain",version="1""#))
        }
    }

    @Test func keepVersionsIsConfiguredAndRangeChecked() throws {
        #expect(try ServerConfiguration(toml: "[adapters]\nkeep_versions = 4\n").keepVersions == 4)
        #expect(ServerConfiguration().keepVersions == 10)
        for bad in [0, -1, 1001] {
            var configuration = ServerConfiguration.testing()
            configuration.keepVersions = bad
            #expect(throws: ConfigurationError.self) { try configuration.validate() }
        }
    }
}

/// A value one server's test body hands to the next.
final class PinnedText: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""
    var value: String { lock.withLock { text } }
    func set(_ value: String) { lock.withLock { text = value } }
}
