import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Model
import Server
import Testing
import Tokenizers

/// SmolLM2, loaded once and shared by every test application (each gets its own scheduler on it).
enum TestModel {
    static let path = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

    static var isAvailable: Bool { FileManager.default.fileExists(atPath: path) }

    static let id = "SmolLM2-135M-Instruct.Q4_1"

    private static let loaded: Result<ServedModel, any Error> = Result {
        let model = try TransformerModel(path: path, threads: 1)
        return try ServedModel(id: id, model: model, tokenizer: try Tokenizer(gguf: model.file))
    }

    static func served() throws -> ServedModel { try loaded.get() }
}

extension ServerConfiguration {
    /// The test configuration: the shared model, one thread, small limits that the error tests can reach.
    static func testing(_ change: (inout ServerConfiguration) -> Void = { _ in }) -> ServerConfiguration {
        var configuration = ServerConfiguration(modelPath: TestModel.path, threads: 1, contextLimit: 512, maxBatch: 4,
                                                maxQueued: 8, maxBodyBytes: 4096, maxTokensCap: 256, maxChoices: 8,
                                                requestTimeout: 60,
                                                storePath: FileManager.default.temporaryDirectory
                                                    .appendingPathComponent("raconteur-store-\(UUID().uuidString).sqlite").path,
                                                adaptersDirectory: nil)
        configuration.realign.starter = false  // tests that want the start-up job turn it on
        change(&configuration)
        return configuration
    }
}

/// Runs `body` against an application in router test mode, once its model is ready.
func withServer(_ configuration: ServerConfiguration = .testing(),
                _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
    var logger = Logger(label: "raconteur-test")
    logger.logLevel = .error
    let app = try await buildApplication(configuration, logger: logger) { try TestModel.served() }
    try await app.test(.router) { client in
        try await waitUntilHealthy(client)
        try await body(client)
    }
}

func waitUntilHealthy(_ client: any TestClientProtocol) async throws {
    for _ in 0..<500 {
        if try await client.execute(uri: "/health", method: .get).status == .ok { return }
        try await Task.sleep(nanoseconds: 10_000_000)
    }
    Issue.record("the model never became ready")
}

// MARK: requests and JSON

typealias JSONObject = [String: Any]

extension TestClientProtocol {
    func post(_ uri: String, json: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        headers[.contentType] = "application/json"
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: json))
    }

    func post(_ uri: String, _ object: JSONObject, headers: HTTPFields = [:]) async throws -> TestResponse {
        let data = try JSONSerialization.data(withJSONObject: object)
        return try await post(uri, json: String(decoding: data, as: UTF8.self), headers: headers)
    }

    /// One of the server's metric values, or nil when the line is absent.
    func metric(_ line: String) async throws -> Double? {
        let text = String(buffer: try await execute(uri: "/metrics", method: .get).body)
        for row in text.split(separator: "\n") where row.hasPrefix(line + " ") {
            return Double(row.dropFirst(line.count + 1))
        }
        return nil
    }
}

func json(_ response: TestResponse) throws -> JSONObject {
    let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body))
    return try #require(object as? JSONObject, "not a JSON object: \(String(buffer: response.body))")
}

/// The `error` object of an envelope, checked to have all four fields.
func errorEnvelope(_ response: TestResponse) throws -> JSONObject {
    let body = try json(response)
    let error = try #require(body["error"] as? JSONObject, "no error envelope: \(body)")
    for key in ["message", "type", "param", "code"] { #expect(error.keys.contains(key), "envelope lacks \(key)") }
    #expect((error["message"] as? String)?.isEmpty == false)
    return error
}

func choices(_ body: JSONObject) -> [JSONObject] {
    body["choices"] as? [JSONObject] ?? []
}

/// The `data:` payloads of a server-sent event stream, in order (`[DONE]` included as a string).
func serverSentEvents(_ response: TestResponse) -> [String] {
    String(buffer: response.body)
        .components(separatedBy: "\n\n")
        .compactMap { event in event.hasPrefix("data: ") ? String(event.dropFirst(6)) : nil }
}

func eventObjects(_ events: [String]) throws -> [JSONObject] {
    try events.filter { $0 != "[DONE]" }.map { event in
        try #require(try JSONSerialization.jsonObject(with: Data(event.utf8)) as? JSONObject)
    }
}
