import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import Testing

extension ModelRouteTests {
    /// The web console's files (served from the binary, without a key) and `GET /v1/status`, which its pages read.
    @Suite struct Console {
        static func header(_ response: TestResponse, _ name: String) -> String? {
            response.headers.first { $0.name.rawName.lowercased() == name.lowercased() }?.value
        }

        @Test func indexIsServedWithAStrictContentSecurityPolicy() async throws {
            try await withServer { client in
                let response = try await client.execute(uri: "/", method: .get)
                #expect(response.status == .ok)
                #expect(Self.header(response, "Content-Type") == "text/html; charset=utf-8")
                #expect(Self.header(response, "Cache-Control") == "no-cache")
                #expect(Self.header(response, "X-Content-Type-Options") == "nosniff")
                let policy = try #require(Self.header(response, "Content-Security-Policy"))
                for directive in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"] {
                    #expect(policy.contains(directive), "policy lacks \(directive): \(policy)")
                }
                #expect(!policy.contains("unsafe"))
                let html = String(buffer: response.body)
                #expect(html.contains("<script type=\"module\" src=\"/console/main.js\"></script>"))
                #expect(!html.contains("<script>"), "no inline script")
            }
        }

        /// Every file the page names (index links, module imports) is served with its content type.
        @Test func everyFileThePageLoadsIsServed() async throws {
            try await withServer { client in
                let index = String(buffer: try await client.execute(uri: "/", method: .get).body)
                var pending = Self.references(in: index, pattern: #"(?:src|href)="/console/([^"]+)""#)
                var seen = Set<String>()
                while let name = pending.popLast() {
                    guard seen.insert(name).inserted else { continue }
                    let response = try await client.execute(uri: "/console/\(name)", method: .get)
                    #expect(response.status == .ok, "\(name)")
                    let type = Self.header(response, "Content-Type") ?? ""
                    switch (name as NSString).pathExtension {
                    case "js":
                        #expect(type == "text/javascript; charset=utf-8", "\(name): \(type)")
                        pending += Self.references(in: String(buffer: response.body), pattern: #"from '\./([^']+)'"#)
                    case "css": #expect(type == "text/css; charset=utf-8", "\(name): \(type)")
                    case "svg": #expect(type == "image/svg+xml", "\(name): \(type)")
                    default: Issue.record("unexpected file \(name)")
                    }
                    #expect(Self.header(response, "Content-Security-Policy") != nil, "\(name)")
                }
                #expect(seen.isSuperset(of: ["main.js", "api.js", "chat.js", "compare.js", "feedback.js", "realign.js",
                                             "adapters.js", "status.js", "charts.js", "console.css"]), "\(seen.sorted())")
            }
        }

        static func references(in text: String, pattern: String) -> [String] {
            let regex = try! NSRegularExpression(pattern: pattern)
            return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
                Range(match.range(at: 1), in: text).map { String(text[$0]) }
            }
        }

        @Test func anUnknownFileIsA404Envelope() async throws {
            try await withServer { client in
                for uri in ["/console/missing.js", "/console/index.htm", "/console/"] {
                    let response = try await client.execute(uri: uri, method: .get)
                    #expect(response.status == .notFound, "\(uri)")
                    #expect(try errorEnvelope(response)["code"] as? String != nil, "\(uri)")
                }
            }
        }

        @Test func aBrowserWithTheCurrentFileGets304() async throws {
            try await withServer { client in
                let first = try await client.execute(uri: "/console/main.js", method: .get)
                let etag = try #require(Self.header(first, "ETag"))
                let again = try await client.execute(uri: "/console/main.js", method: .get, headers: [.ifNoneMatch: etag])
                #expect(again.status == .notModified)
                #expect(again.body.readableBytes == 0)
            }
        }

        /// The files hold no data, so they need no key; the status they show does.
        @Test func withKeysTheFilesAreOpenAndTheStatusIsNot() async throws {
            try await withServer(.testing { $0.apiKeys = ["sk-console"] }) { client in
                #expect(try await client.execute(uri: "/", method: .get).status == .ok)
                #expect(try await client.execute(uri: "/console/main.js", method: .get).status == .ok)
                let refused = try await client.execute(uri: "/v1/status", method: .get)
                #expect(refused.status == .unauthorized)
                #expect(try errorEnvelope(refused)["code"] as? String == "missing_api_key")
                let wrong = try await client.execute(uri: "/v1/status", method: .get, headers: [.authorization: "Bearer sk-other"])
                #expect(wrong.status == .unauthorized)
                let allowed = try await client.execute(uri: "/v1/status", method: .get, headers: [.authorization: "Bearer sk-console"])
                #expect(allowed.status == .ok)
            }
        }

        @Test func statusReportsTheServersState() async throws {
            try await withServer { client in
                var status = try json(try await client.execute(uri: "/v1/status", method: .get))
                #expect(status["object"] as? String == "status")
                #expect(status["model"] as? String == TestModel.id)
                #expect(status["ready"] as? Bool == true)
                #expect(status["threads"] as? Int == 1)
                #expect(status["max_batch"] as? Int == 4)
                #expect(status["max_queued"] as? Int == 8)
                #expect(status["queue_depth"] as? Int == 0)
                #expect(status["batch_occupancy"] as? Double == 0)
                #expect(status["generated_tokens"] as? Int == 0)
                let objectives = try #require(status["objectives"] as? [JSONObject])
                #expect(objectives.compactMap { $0["name"] as? String } == ["concise", "detailed"])
                let realign = try #require(status["realign"] as? JSONObject)
                #expect(realign["active_job"] == nil || realign["active_job"] is NSNull)
                let defaults = try #require(realign["defaults"] as? JSONObject)
                #expect(defaults["steps"] as? Int == 40)
                #expect(defaults["min_pairs"] as? Int == 16)
                #expect((defaults["weights"] as? [[Double]])?.count == 5)

                let completion = try await client.post("/v1/chat/completions", [
                    "model": TestModel.id, "messages": [["role": "user", "content": "Hi"]], "max_tokens": 3,
                    "temperature": 0, "ignore_eos": true,
                ])
                #expect(completion.status == .ok)
                let pair = try await client.post("/v1/feedback", [
                    "prompt": "Say hi", "chosen": "Hi.", "rejected": "Hello there, how are you?", "labels": ["concise": 1],
                ])
                #expect(pair.status == .created)

                status = try json(try await client.execute(uri: "/v1/status", method: .get))
                #expect(status["generated_tokens"] as? Int == 3)
                // The rate counts whole seconds only: once the second of the tokens has passed, it sees them.
                try await Task.sleep(nanoseconds: 1_100_000_000)
                let later = try json(try await client.execute(uri: "/v1/status", method: .get))
                #expect((later["tokens_per_second"] as? Double ?? 0) > 0)
                let feedback = try #require(status["feedback"] as? JSONObject)
                #expect(feedback["pairs"] as? Int == 1)
                #expect(feedback["pairs_since_last_job"] as? Int == 1)
            }
        }
    }
}
