import Foundation
import Hummingbird
import HummingbirdTesting
import Feedback
@testable import Server
import Testing

/// The API keys file with scopes, ids and limits, and which key may use which route.
struct APIKeyFileTests {
    @Test func plainLinesKeepEveryScopeAndFieldsNarrowThem() throws {
        let keys = try APIKeyFile.parse("""
            # operators
            sk-plain
            sk-ops   id=ops scopes=admin
            sk-app\tid=app scopes=inference,feedback rpm=120 tpm=20000

            """, path: "keys")
        #expect(keys.map(\.key) == ["sk-plain", "sk-ops", "sk-app"])
        #expect(keys[0].isPlain && keys[0].scopes == Set(APIScope.allCases) && keys[0].id == APIKeyIdentity.fingerprint(of: "sk-plain"))
        #expect(!keys[1].isPlain && keys[1].id == "ops" && keys[1].scopes == [.admin] && keys[1].limits == .unlimited)
        #expect(keys[2].scopes == [.inference, .feedback])
        #expect(keys[2].limits == RateLimits(requestsPerMinute: 120, tokensPerMinute: 20000))
    }

    @Test(arguments: [
        ("sk-a scopes=root", "line 1: unknown scope 'root'"),
        ("sk-a scopes=", "line 1: scopes= names no scope"),
        ("sk-a rpm=0", "line 1: rpm must be a whole number from 1 to 10000000"),
        ("sk-a tpm=99999999999", "line 1: tpm must be a whole number"),
        ("sk-a colour=red", "line 1: unknown field 'colour'"),
        ("sk-a admin", "line 1: 'admin' is not name=value"),
        ("sk-a id=a/b", "line 1: id must be 1 to 64 letters"),
        ("sk-a\n\nsk-a", "line 3: this key is listed twice"),
        ("sk-a id=x\nsk-b id=x", "line 2: the id 'x' is used by two keys"),
    ])
    func badLinesAreRefusedNamingTheLine(text: String, message: String) {
        #expect {
            _ = try APIKeyFile.parse(text, path: "keys")
        } throws: { error in
            "\(error)".contains("keys, \(message)")
        }
    }
}

extension ModelRouteTests {
    /// Each admin route refuses a key without `admin` (403, the envelope naming the scope); `POST /v1/feedback` needs
    /// `feedback`, generation needs `inference`; `admin` may do everything. Rows record the key's id, never the key.
    @Suite struct Scopes {
        static let keys: [APIKey] = [
            APIKey(key: "sk-admin", id: "ops", scopes: [.admin]),
            APIKey(key: "sk-infer", id: "app", scopes: [.inference]),
            APIKey(key: "sk-votes", id: "voter", scopes: [.feedback]),
        ]

        static let adminRoutes: [(HTTPRequest.Method, String, String?)] = [
            (.post, "/v1/adapters", #"{"id": "x"}"#),
            (.delete, "/v1/adapters/x", nil),
            (.post, "/v1/adapters/x/rollback", #"{"version": 1}"#),
            (.post, "/v1/realign", "{}"),
            (.get, "/v1/realign", nil),
            (.get, "/v1/realign/job-x", nil),
            (.post, "/v1/realign/job-x/cancel", nil),
            (.get, "/v1/feedback", nil),
            (.get, "/v1/feedback/export", nil),
            (.delete, "/v1/feedback/fb-x", nil),
            (.delete, "/v1/completions/cmpl-x", nil),
        ]

        private static func call(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, _ body: String?,
                                 key: String) async throws -> TestResponse {
            var headers: HTTPFields = [.authorization: "Bearer \(key)"]
            if body != nil { headers[.contentType] = "application/json" }
            return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        }

        @Test func adminRoutesNeedTheAdminScope() async throws {
            try await withServer(.testing { $0.apiKeys = Self.keys }) { client in
                for (method, uri, body) in Self.adminRoutes {
                    for key in ["sk-infer", "sk-votes"] {
                        let refused = try await Self.call(client, method, uri, body, key: key)
                        #expect(refused.status == .forbidden, "\(method) \(uri) with \(key)")
                        let error = try errorEnvelope(refused)
                        #expect(error["code"] as? String == "missing_scope")
                        #expect(error["type"] as? String == "permission_error")
                        #expect((error["message"] as? String)?.contains("'admin'") == true)
                        #expect(!(String(buffer: refused.body).contains(key)), "the error must not echo the key")
                    }
                    // The admin key reaches the handler (which may still refuse the request for its own reasons).
                    let allowed = try await Self.call(client, method, uri, body, key: "sk-admin")
                    #expect(allowed.status != .unauthorized, "\(method) \(uri) with the admin key")
                    if allowed.status == .forbidden {
                        #expect(try errorEnvelope(allowed)["code"] as? String != "missing_scope", "\(method) \(uri) with the admin key")
                    }
                }
            }
        }

        @Test func generationNeedsInferenceAndFeedbackNeedsFeedback() async throws {
            try await withServer(.testing { $0.apiKeys = Self.keys }) { client in
                let completion = #"{"prompt": "Hello", "max_tokens": 2}"#
                let chat = #"{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}"#
                for (uri, body) in [("/v1/completions", completion), ("/v1/chat/completions", chat)] {
                    let refused = try await Self.call(client, .post, uri, body, key: "sk-votes")
                    #expect(refused.status == .forbidden)
                    #expect(try errorEnvelope(refused)["code"] as? String == "missing_scope")
                    #expect(try await Self.call(client, .post, uri, body, key: "sk-infer").status == .ok)
                    #expect(try await Self.call(client, .post, uri, body, key: "sk-admin").status == .ok)
                }
                let pair = #"{"prompt": "p", "chosen": "a", "rejected": "b", "labels": {"concise": 1}}"#
                let refused = try await Self.call(client, .post, "/v1/feedback", pair, key: "sk-infer")
                #expect(refused.status == .forbidden)
                #expect((try errorEnvelope(refused)["message"] as? String)?.contains("'feedback'") == true)
                // Listing models and adapters is open to every key.
                for key in ["sk-infer", "sk-votes", "sk-admin"] {
                    #expect(try await Self.call(client, .get, "/v1/models", nil, key: key).status == .ok)
                    #expect(try await Self.call(client, .get, "/v1/adapters", nil, key: key).status == .ok)
                }
            }
        }

        @Test func completionsAndPairsRecordTheKeyID() async throws {
            let configuration = ServerConfiguration.testing { $0.apiKeys = Self.keys }
            try await withServer(configuration) { client in
                var ids: [String] = []
                for prompt in ["Name a colour.", "Name a colour."] {
                    let response = try await Self.call(client, .post, "/v1/completions",
                                                       #"{"prompt": "\#(prompt)", "max_tokens": 4, "temperature": 1, "seed": \#(ids.count)}"#,
                                                       key: "sk-infer")
                    #expect(response.status == .ok)
                    let choice = try #require((try json(response)["choices"] as? [JSONObject])?.first)
                    ids.append(try #require(choice["completion_id"] as? String))
                }
                let store = try FeedbackStore(path: configuration.storePath)
                for id in ids { #expect(try await store.completion(id: id)?.keyID == "app") }
                let vote = try await Self.call(client, .post, "/v1/feedback",
                                               #"{"prompt": "p", "chosen": "short", "rejected": "long answer", "labels": {"concise": 1}}"#,
                                               key: "sk-votes")
                #expect(vote.status == .ok || vote.status == .created)
                let pairID = try #require(try json(vote)["id"] as? String)
                #expect(try await store.preference(id: pairID)?.keyID == "voter")
                let listed = try await Self.call(client, .get, "/v1/feedback", nil, key: "sk-admin")
                #expect(String(buffer: listed.body).contains(#""key_id":"voter""#))
                #expect(!String(buffer: listed.body).contains("sk-votes"))
            }
        }
    }
}

/// Token buckets per key, on a clock the test moves.
struct RateLimiterTests {
    final class Clock: @unchecked Sendable {
        var seconds = 1000.0
    }

    @Test func requestsRefillAtTheirRatePerMinute() throws {
        let clock = Clock()
        let limiter = RateLimiter(now: { clock.seconds })
        let key = APIKeyIdentity(APIKey(key: "k", id: "app", limits: RateLimits(requestsPerMinute: 2)))
        try limiter.admitRequest(key)
        try limiter.admitRequest(key)
        #expect { try limiter.admitRequest(key) } throws: { error in
            let error = error as? APIError
            return error?.status == .tooManyRequests && error?.code == "rate_limit_exceeded" && error?.headers[.retryAfter] == "30"
        }
        clock.seconds += 30   // half a minute: one of two requests back
        try limiter.admitRequest(key)
        #expect(throws: APIError.self) { try limiter.admitRequest(key) }
        // Another key, and a key without limits, are not affected.
        try limiter.admitRequest(APIKeyIdentity(APIKey(key: "k2", id: "other", limits: RateLimits(requestsPerMinute: 1))))
        for _ in 0..<100 { try limiter.admitRequest(APIKeyIdentity(APIKey("k3"))) }
    }

    @Test func generatedTokensAreChargedAfterwardsAndBlockUntilRefilled() throws {
        let clock = Clock()
        let limiter = RateLimiter(now: { clock.seconds })
        let key = APIKeyIdentity(APIKey(key: "k", id: "app", limits: RateLimits(tokensPerMinute: 60)))
        try limiter.admitGeneration(key)
        limiter.charge(key, tokens: 90)   // one long answer takes the bucket to -30
        #expect { try limiter.admitGeneration(key) } throws: { error in
            (error as? APIError)?.headers[.retryAfter] == "31"   // back above zero after 31 s at 1 token/s
        }
        clock.seconds += 31
        try limiter.admitGeneration(key)
        try limiter.admitGeneration(nil)   // an open server has no identities
    }
}

extension ModelRouteTests {
    @Suite struct RateLimits429 {
        @Test func aKeyOverItsRequestLimitGets429WithRetryAfter() async throws {
            let keys = [APIKey(key: "sk-slow", id: "slow", limits: RateLimits(requestsPerMinute: 2)), APIKey("sk-free")]
            try await withServer(.testing { $0.apiKeys = keys }) { client in
                for _ in 0..<2 {
                    #expect(try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer sk-slow"]).status == .ok)
                }
                let refused = try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer sk-slow"])
                #expect(refused.status == .tooManyRequests)
                #expect(try errorEnvelope(refused)["code"] as? String == "rate_limit_exceeded")
                #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 >= 1)
                #expect(try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer sk-free"]).status == .ok)
            }
        }

        @Test func aKeyOverItsTokenLimitGets429BeforeGenerating() async throws {
            let keys = [APIKey(key: "sk-tokens", id: "tokens", limits: RateLimits(tokensPerMinute: 1))]
            try await withServer(.testing { $0.apiKeys = keys }) { client in
                let headers: HTTPFields = [.authorization: "Bearer sk-tokens"]
                let first = try await client.post("/v1/completions", ["prompt": "Count: 1, 2,", "max_tokens": 8, "ignore_eos": true],
                                                  headers: headers)
                #expect(first.status == .ok)
                let second = try await client.post("/v1/completions", ["prompt": "Count: 1, 2,", "max_tokens": 8], headers: headers)
                #expect(second.status == .tooManyRequests)
                #expect((try errorEnvelope(second)["message"] as? String)?.contains("generated tokens") == true)
            }
        }
    }
}
