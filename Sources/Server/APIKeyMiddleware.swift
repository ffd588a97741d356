import Foundation
import Hummingbird

/// Requires `Authorization: Bearer <key>` with one of the configured keys. With no keys configured the server is
/// open (and `raconteur serve` then listens on loopback only).
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: [[UInt8]]

    init(keys: Set<String>) {
        self.keys = keys.map { Array($0.utf8) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !keys.isEmpty else { return try await next(request, context) }
        guard let header = request.headers[.authorization] else { throw APIError.missingAPIKey }
        let scheme = "bearer "
        guard header.count > scheme.count, header.prefix(scheme.count).lowercased() == scheme else {
            throw APIError.missingAPIKey
        }
        let presented = Array(header.dropFirst(scheme.count).trimmingCharacters(in: .whitespaces).utf8)
        // Compare against every key without stopping early, so timing says nothing about which bytes matched.
        var matched = false
        for key in keys where Self.constantTimeEqual(key, presented) { matched = true }
        guard matched else { throw APIError.invalidAPIKey }
        return try await next(request, context)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
