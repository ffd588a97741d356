import Dispatch
import Hummingbird
import Synchronization

/// Per-key token buckets (`RateLimits`): one of requests, one of generated tokens. A bucket holds a minute's worth
/// and refills continuously. A request takes one request token; a generation is admitted while the key's token
/// bucket is above zero and charged what it generated when it ends, so one long answer can take the bucket below
/// zero and the key then waits until it has refilled. Keys without limits are never tracked.
final class RateLimiter: Sendable {
    private struct Bucket {
        var level: Double
        var updated: Double
        mutating func refill(capacity: Int, now: Double) {
            level = min(Double(capacity), level + Double(capacity) / 60 * max(0, now - updated))
            updated = now
        }
    }

    private struct KeyState {
        var requests: Bucket?
        var tokens: Bucket?
    }

    private let state = Mutex<[String: KeyState]>([:])
    /// Seconds on a monotonic clock (tests pass their own).
    private let now: @Sendable () -> Double

    init(now: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }) {
        self.now = now
    }

    /// Runs `body` on the key's bucket at `keyPath`, refilled up to now (a new bucket starts full), and keeps it.
    private func withBucket<Result>(_ keyPath: WritableKeyPath<KeyState, Bucket?>, of id: String, capacity: Int,
                                    _ body: (inout Bucket) -> Result) -> Result {
        let time = now()
        return state.withLock { keys in
            var bucket = keys[id]?[keyPath: keyPath] ?? Bucket(level: Double(capacity), updated: time)
            bucket.refill(capacity: capacity, now: time)
            defer { keys[id, default: KeyState()][keyPath: keyPath] = bucket }
            return body(&bucket)
        }
    }

    /// Takes one request token, or throws 429 with `Retry-After` (whole seconds until one is back).
    func admitRequest(_ identity: APIKeyIdentity) throws {
        guard let capacity = identity.limits.requestsPerMinute else { return }
        let wait: Double? = withBucket(\.requests, of: identity.id, capacity: capacity) { bucket in
            if bucket.level >= 1 {
                bucket.level -= 1
                return nil
            }
            return (1 - bucket.level) * 60 / Double(capacity)
        }
        if let wait { throw APIError.rateLimited(identity.id, what: "requests", perMinute: capacity, retryAfter: wait) }
    }

    /// Admits a generation while the key's token bucket is above zero, or throws 429 with `Retry-After`.
    func admitGeneration(_ identity: APIKeyIdentity?) throws {
        guard let identity, let capacity = identity.limits.tokensPerMinute else { return }
        let wait: Double? = withBucket(\.tokens, of: identity.id, capacity: capacity) { bucket in
            bucket.level > 0 ? nil : (1 - bucket.level) * 60 / Double(capacity)
        }
        if let wait { throw APIError.rateLimited(identity.id, what: "generated tokens", perMinute: capacity, retryAfter: wait) }
    }

    /// Charges `tokens` generated for the key.
    func charge(_ identity: APIKeyIdentity?, tokens: Int) {
        guard let identity, let capacity = identity.limits.tokensPerMinute, tokens > 0 else { return }
        withBucket(\.tokens, of: identity.id, capacity: capacity) { $0.level -= Double(tokens) }
    }
}

/// Takes a request token from the presented key's bucket before the route runs (after `APIKeyAuthenticator`).
struct RateLimitMiddleware<Context: APIKeyContext>: RouterMiddleware {
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let identity = context.identity { try limiter.admitRequest(identity) }
        return try await next(request, context)
    }
}

extension APIError {
    static func rateLimited(_ keyID: String, what: String, perMinute: Int, retryAfter seconds: Double) -> APIError {
        let whole = max(1, Int(seconds.rounded(.up)))
        var error = APIError(status: .tooManyRequests,
                             message: "The API key '\(keyID)' is over its limit of \(perMinute) \(what) per minute; retry in \(whole) s.",
                             type: "rate_limit_error", code: "rate_limit_exceeded")
        error.headers[.retryAfter] = String(whole)
        return error
    }
}
