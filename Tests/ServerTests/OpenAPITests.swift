import Feedback
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
@testable import Server
import Testing

/// The OpenAPI document (Sources/Server/OpenAPI/openapi.json) against the router it describes, and as served.
/// Neither needs the model: the router is built without one, and the document is served while the model "loads".
@Suite struct OpenAPITests {
    static let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    static func document() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIController<BasicRequestContext>.bytes)) as? [String: Any])
    }

    /// "METHOD /path/{parameter}" for every operation the document describes.
    static func documentedOperations(_ document: [String: Any]) throws -> Set<String> {
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        return Set(paths.flatMap { path, item in
            item.keys.filter(methods.contains).map { "\($0.uppercased()) \(path)" }
        })
    }

    /// "METHOD /path/{parameter}" for every route `buildRouter` registers (Hummingbird's `Router.routes`).
    static func routedOperations() throws -> Set<String> {
        Set(try router(.testing()).routes.map { "\($0.method.rawValue) \($0.path)" })
    }

    /// The server's router on a model host that never loads a model.
    static func router(_ configuration: ServerConfiguration) throws -> Router<ServerRequestContext> {
        var logger = Logger(label: "openapi-test")
        logger.logLevel = .critical
        let host = ModelHost()
        let store = try FeedbackStore(path: configuration.storePath)
        let realign = RealignManager(store: store, host: host, configuration: configuration, logger: logger)
        return buildRouter(configuration, host: host, metrics: ServerMetrics(), store: store, realign: realign, logger: logger)
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedOperationIsRouted() async throws {
        let documented = try Self.documentedOperations(try Self.document())
        let routed = try Self.routedOperations()
        #expect(routed.count >= 20, "the router lists \(routed.sorted())")
        #expect(routed.subtracting(documented).sorted() == [], "routes missing from openapi.json")
        #expect(documented.subtracting(routed).sorted() == [], "operations in openapi.json that no route serves")
    }

    /// Every error status an operation documents carries OpenAI's envelope; every /v1 operation documents 401 and
    /// the bearer key it needs, every other one says it needs no key.
    @Test func errorsUseTheEnvelopeAndSecurityIsStated() throws {
        let document = try Self.document()
        let components = try #require(document["components"] as? [String: Any])
        let sharedResponses = try #require(components["responses"] as? [String: [String: Any]])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        func resolve(_ response: [String: Any]) throws -> [String: Any] {
            guard let reference = response["$ref"] as? String else { return response }
            let name = try #require(reference.split(separator: "/").last.map(String.init))
            return try #require(sharedResponses[name], "\(reference) does not resolve")
        }
        for (path, item) in paths {
            for (method, value) in item where Self.methods.contains(method) {
                let operation = try #require(value as? [String: Any])
                let where_ = "\(method.uppercased()) \(path)"
                let responses = try #require(operation["responses"] as? [String: [String: Any]], "\(where_)")
                #expect(responses.keys.contains { $0.hasPrefix("2") }, "\(where_) documents no success")
                #expect(responses["default"] == nil, "\(where_): a default response would accept any status")
                for (status, response) in responses where Int(status).map({ $0 >= 400 }) ?? true {
                    let content = try resolve(response)["content"] as? [String: [String: Any]]
                    let schema = content?["application/json"]?["schema"] as? [String: Any]
                    let isEnvelope = (schema?["$ref"] as? String) == "#/components/schemas/Error"
                    // /health's 503 is its own body ({"status": "loading"}), not an error.
                    #expect(isEnvelope || (path == "/health" && status == "503"), "\(where_) \(status) is not the error envelope")
                }
                let security = try #require(operation["security"] as? [[String: [String]]], "\(where_) states no security")
                if path.hasPrefix("/v1/") {
                    #expect(security.count == 1 && security[0]["bearerAuth"] != nil, "\(where_) needs a bearer key")
                    #expect(responses["401"] != nil, "\(where_) lacks 401")
                    #expect(responses["403"] != nil, "\(where_) lacks 403")
                } else {
                    #expect(security.isEmpty, "\(where_) is served without a key")
                }
            }
        }
    }

    /// Every `$ref` in the document names something the document holds.
    @Test func everyReferenceResolves() throws {
        let document = try Self.document()
        var references: [String] = []
        func collect(_ value: Any) {
            if let object = value as? [String: Any] {
                if let reference = object["$ref"] as? String { references.append(reference) }
                object.values.forEach(collect)
            } else if let array = value as? [Any] {
                array.forEach(collect)
            }
        }
        collect(document)
        #expect(references.count > 50)
        for reference in Set(references) {
            var node: Any? = document
            for part in reference.dropFirst(2).split(separator: "/") { node = (node as? [String: Any])?[String(part)] }
            #expect(reference.hasPrefix("#/") && node != nil, "\(reference) does not resolve")
        }
    }

    /// `GET /openapi.json` answers without a key on a server that has keys, before any model is loaded, with the
    /// embedded document: JSON whose `openapi` is 3.1.x.
    @Test func theDocumentIsServedWithoutAKey() async throws {
        var configuration = ServerConfiguration.testing()
        configuration.apiKeys = try APIKeyFile.parse("sk-admin id=admin scopes=admin\n", path: "keys")
        // The router alone, with no model loading service: the document must not depend on the model.
        let app = Application(router: try Self.router(configuration))
        try await app.test(.router) { client in
            #expect(try await client.execute(uri: "/v1/models", method: .get).status == .unauthorized)
            let response = try await client.execute(uri: "/openapi.json", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            let bytes = Array(response.body.readableBytesView)
            #expect(bytes == OpenAPIController<BasicRequestContext>.bytes)
            let served = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
            let version = try #require(served["openapi"] as? String)
            #expect(version.hasPrefix("3.1."), "openapi is \(version)")
            #expect((served["paths"] as? [String: Any])?["/openapi.json"] != nil)
        }
    }
}
