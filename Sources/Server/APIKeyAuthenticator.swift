import Crypto
import Foundation
import Hummingbird
import HummingbirdAuth

/// The configured API key a request presented, attached to the request's context by `APIKeyAuthenticator`.
struct APIKeyIdentity: Sendable, Hashable {
    /// The first 8 bytes of the key's SHA-256 in hex: names the key (in logs, or a table of per-key permissions)
    /// without revealing it.
    let fingerprint: String

    init(key: String) {
        fingerprint = SHA256.hash(data: Data(key.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}

/// Requires `Authorization: Bearer <key>` with one of the configured keys, and attaches that key's identity to the
/// context (HummingbirdAuth's `AuthenticatorMiddleware`). With no keys configured the server is open (and
/// `raconteur serve` then listens on loopback only): requests pass with no identity.
struct APIKeyAuthenticator<Context: AuthRequestContext<APIKeyIdentity>>: AuthenticatorMiddleware {
    typealias Identity = APIKeyIdentity
    private let keys: [(bytes: [UInt8], identity: APIKeyIdentity)]

    init(keys: Set<String>) {
        self.keys = keys.map { (Array($0.utf8), APIKeyIdentity(key: $0)) }
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
