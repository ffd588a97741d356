import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import Server

/// The API key check on its own (no model): which `Authorization` headers pass, which error the others get, and the
/// identity a key attaches to the request.
struct APIKeyAuthenticatorTests {
    private static func withRouter(keys: [APIKey], _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let router = Router(context: ServerRequestContext.self)
        router.add(middleware: ErrorEnvelopeMiddleware(maxBodyBytes: 1024))
        router.add(middleware: APIKeyAuthenticator(keys: keys))
        router.get("whoami") { _, context in context.identity?.id ?? "open" }
        try await Application(router: router).test(.router, body)
    }

    private static func fingerprint(_ response: TestResponse) -> String { String(buffer: response.body) }

    @Test func withNoKeysTheAPIIsOpen() async throws {
        try await Self.withRouter(keys: []) { client in
            let response = try await client.execute(uri: "/whoami", method: .get)
            #expect(response.status == .ok)
            #expect(Self.fingerprint(response) == "open")
        }
    }

    @Test(arguments: ["Bearer sk-one", "bearer sk-one", "BEARER sk-one", "Bearer  sk-one ", "Bearer sk-two"])
    func aConfiguredKeyPassesWithItsIdentity(header: String) async throws {
        try await Self.withRouter(keys: ["sk-one", "sk-two"]) { client in
            let response = try await client.execute(uri: "/whoami", method: .get, headers: [.authorization: header])
            #expect(response.status == .ok)
            let key = header.hasSuffix("sk-two") ? "sk-two" : "sk-one"
            #expect(Self.fingerprint(response) == APIKeyIdentity.fingerprint(of: key))
            #expect(Self.fingerprint(response).count == 16)
        }
    }

    @Test(arguments: [
        (nil, "missing_api_key"), ("Basic c2stb25l", "missing_api_key"), ("Bearer", "missing_api_key"),
        ("Bearer ", "missing_api_key"), ("Bearer    ", "missing_api_key"), ("sk-one", "missing_api_key"),
        ("Bearer sk-on", "invalid_api_key"), ("Bearer sk-one1", "invalid_api_key"), ("Bearer SK-ONE", "invalid_api_key"),
        ("Bearer sk-three", "invalid_api_key"),
    ] as [(String?, String)])
    func otherHeadersAre401(header: String?, code: String) async throws {
        try await Self.withRouter(keys: ["sk-one", "sk-two"]) { client in
            var headers = HTTPFields()
            if let header { headers[.authorization] = header }
            let response = try await client.execute(uri: "/whoami", method: .get, headers: headers)
            #expect(response.status == .unauthorized)
            let error = try errorEnvelope(response)
            #expect(error["code"] as? String == code)
            #expect(error["type"] as? String == "authentication_error")
        }
    }

    @Test func twoKeysHaveDifferentIdentities() {
        #expect(APIKeyIdentity(APIKey("sk-one")) != APIKeyIdentity(APIKey("sk-two")))
        #expect(APIKeyIdentity(APIKey("sk-one")) == APIKeyIdentity(APIKey("sk-one")))
    }
}
