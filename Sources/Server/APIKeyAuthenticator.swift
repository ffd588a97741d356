import Crypto
import Foundation
import Hummingbird
import HummingbirdAuth

/// The configured API key a request presented, attached to the request's context by `APIKeyAuthenticator`.
public struct APIKeyIdentity: Sendable, Hashable {
    /// The key's id: stored with the rows it creates and logged, instead of the key.
    public let id: String
    public let scopes: Set<APIScope>
    public let limits: RateLimits

    init(_ key: APIKey) {
        id = key.id
        scopes = key.scopes
        limits = key.limits
    }

    /// `admin` may do everything; otherwise the scope itself is needed.
    func allows(_ scope: APIScope) -> Bool {
        scopes.contains(.admin) || scopes.contains(scope)
    }

    /// The first 8 bytes of a key's SHA-256 in hex: the default id of a key, which names it without revealing it.
    static func fingerprint(of key: String) -> String {
        SHA256.hash(data: Data(key.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}

/// Requires `Authorization: Bearer <key>` with one of the configured keys, and attaches that key's identity to the
/// context (HummingbirdAuth's `AuthenticatorMiddleware`). With no keys configured the server is open (and
/// `raconteur serve` then listens on loopback only): requests pass with no identity.
struct APIKeyAuthenticator<Context: AuthRequestContext<APIKeyIdentity>>: AuthenticatorMiddleware {
    typealias Identity = APIKeyIdentity
    private let keys: [(bytes: [UInt8], identity: APIKeyIdentity)]

    init(keys: [APIKey]) {
        self.keys = keys.map { (Array($0.key.utf8), APIKeyIdentity($0)) }
    }

    /// Throws (rather than returning nil) so that a request without a valid key goes no further.
    func authenticate(request: Request, context: Context) async throws -> APIKeyIdentity? {
        guard !keys.isEmpty else { return nil }
        guard let token = Self.bearerToken(request.headers) else { throw APIError.missingAPIKey }
        let presented = Array(token.utf8)
        // Compare against every key without stopping early, so timing says nothing about which bytes matched.
        var identity: APIKeyIdentity?
        for key in keys where Self.constantTimeEqual(key.bytes, presented) { identity = key.identity }
        guard let identity else { throw APIError.invalidAPIKey }
        return identity
    }

    /// The bearer token, through HummingbirdAuth's `HTTPFields.bearer`. That matches the scheme as `Bearer ` only,
    /// while RFC 9110 §11.1 makes it case-insensitive, so the scheme is normalised first; surrounding spaces are
    /// dropped and an empty token counts as none.
    static func bearerToken(_ headers: HTTPFields) -> String? {
        var headers = headers
        if let value = headers[.authorization], value.prefix(7).lowercased() == "bearer " {
            headers[.authorization] = "Bearer " + value.dropFirst(7)
        }
        guard let token = headers.bearer?.token.trimmingCharacters(in: .whitespaces), !token.isEmpty else { return nil }
        return token
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

/// A context that carries the key a request presented (nil when the server is open).
protocol APIKeyContext: RequestContext {
    var identity: APIKeyIdentity? { get }
}

/// Refuses, with 403 and the API's envelope, a request whose key lacks `scope`. Added to a route collection before
/// the routes it guards (Hummingbird applies a collection's middleware to the routes added after it). An open
/// server (no keys) has no identities and refuses nothing.
struct RequireScope<Context: APIKeyContext>: RouterMiddleware {
    let scope: APIScope

    init(_ scope: APIScope) {
        self.scope = scope
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let identity = context.identity, !identity.allows(scope) {
            throw APIError.missingScope(scope, keyID: identity.id)
        }
        return try await next(request, context)
    }
}

extension APIError {
    static func missingScope(_ scope: APIScope, keyID: String) -> APIError {
        APIError(status: .forbidden, message: "The API key '\(keyID)' does not have the '\(scope.rawValue)' scope this route needs.",
                 type: "permission_error", code: "missing_scope")
    }
}
