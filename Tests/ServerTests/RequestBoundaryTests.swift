import Foundation
import Testing
@testable import Server

/// The checks at the edge of the server: standard JSON only, the host and origin policy, and counts that are
/// bounded before they are multiplied.
struct StrictJSONTests {
    @Test(arguments: [
        #"{}"#, #"[]"#, #" {"a": [1, -2.5e+3, 0, 0.5, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9"]} "#,
        #""text""#, "42", #"{"nested": {"a": [[[]]]}}"#, "{\"prompt\": \"caf\u{e9} \u{1F600}\"}",
    ])
    func standardJSONPasses(_ text: String) throws {
        try StrictJSON.validate(Array(text.utf8))
    }

    @Test(arguments: [
        #"{"a": 1,}"#, #"[1, 2,]"#, "{'a': 1}", #"{"a": 1 /* c */}"#, #"{"a": 01}"#, #"{"a": NaN}"#, #"{"a": Infinity}"#,
        #"{"a": 1} {"b": 2}"#, "{\"a\": \"\u{01}\"}", #"{"a": "\x41"}"#, #"{"a": "\u12"}"#, #"{"a" 1}"#, #"{a: 1}"#,
        #"[1 2]"#, #"{"a": .5}"#, #"{"a": 1.}"#, #"{"a": 1e}"#, #"{"a": -}"#, #"{"a": tru}"#, #"{"a": "unterminated}"#,
        "", "   ", #"[,]"#, #"{,}"#, #"{"a":1,,"b":2}"#,
    ])
    func nonStandardJSONIsRefused(_ text: String) {
        #expect(throws: StrictJSON.SyntaxError.self) { try StrictJSON.validate(Array(text.utf8)) }
    }

    @Test func nestingIsBounded() throws {
        let ok = String(repeating: "[", count: StrictJSON.maxDepth) + String(repeating: "]", count: StrictJSON.maxDepth)
        try StrictJSON.validate(Array(ok.utf8))
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: StrictJSON.SyntaxError.self) { try StrictJSON.validate(Array(deep.utf8)) }
    }
}

struct OriginPolicyTests {
    @Test(arguments: [
        ("localhost:8080", "localhost"), ("127.0.0.1", "127.0.0.1"), ("[::1]:8080", "::1"), ("Example.COM", "example.com"),
    ])
    func hostNames(_ header: String, _ name: String) {
        #expect(OriginPolicy.hostName(fromHostHeader: header) == name)
    }

    @Test(arguments: ["", "a:b:c", "host:", "host:99999x", "[::1", "[::1]x", "ho st", "a\u{0}b"])
    func malformedHostHeaders(_ header: String) {
        #expect(OriginPolicy.hostName(fromHostHeader: header) == nil)
    }

    @Test func defaultPolicyAnswersAddressesAndLocalhostOnly() {
        let policy = OriginPolicy()
        for host in ["127.0.0.1:8080", "localhost", "[::1]:1", "10.0.0.5", "LOCALHOST"] { #expect(policy.allows(host: host)) }
        for host in ["evil.example", "localhost.evil.example", "127.0.0.1.nip.io", "", "a b"] { #expect(!policy.allows(host: host)) }
        #expect(policy.allows(host: nil))
    }

    @Test func listedHostsAndTheWildcard() {
        #expect(OriginPolicy(allowedHosts: ["raconteur.internal"]).allows(host: "Raconteur.Internal:443"))
        #expect(!OriginPolicy(allowedHosts: ["raconteur.internal"]).allows(host: "other.internal"))
        #expect(OriginPolicy(allowedHosts: ["*"]).allows(host: "anything.example"))
    }

    @Test func origins() {
        let policy = OriginPolicy(corsOrigins: ["https://app.example.com"])
        #expect(policy.decide(origin: "http://127.0.0.1:8080", host: "127.0.0.1:8080") == .sameOrigin)
        #expect(policy.decide(origin: "https://app.example.com", host: "127.0.0.1:8080") == .allowedCrossOrigin)
        #expect(policy.decide(origin: "https://evil.example", host: "127.0.0.1:8080") == .refused)
        #expect(policy.decide(origin: "null", host: "127.0.0.1:8080") == .refused)
        #expect(policy.decide(origin: "http://127.0.0.1:9999", host: "127.0.0.1:8080") == .refused)
        #expect(OriginPolicy(corsOrigins: ["*"]).decide(origin: "https://x.example", host: nil) == .allowedCrossOrigin)
    }

    @Test func serialisedOrigins() {
        #expect(OriginPolicy.isSerialisedOrigin("https://app.example.com"))
        #expect(OriginPolicy.isSerialisedOrigin("http://localhost:3000"))
        #expect(!OriginPolicy.isSerialisedOrigin("https://app.example.com/"))
        #expect(!OriginPolicy.isSerialisedOrigin("app.example.com"))
        #expect(!OriginPolicy.isSerialisedOrigin("ftp://app.example.com"))
    }
}

struct ChoiceCountTests {
    @Test(arguments: [(4_611_686_018_427_387_904, 2), (Int.max, 2), (Int.max, Int.max), (16, 2), (0, 1), (-1, 1), (Int.min, 1)])
    func countsBeyondTheLimitAreRefusedWithoutOverflow(_ n: Int, _ prompts: Int) throws {
        var options = try JSONDecoder().decode(GenerationOptions.self, from: Data("{}".utf8))
        options.n = n
        #expect(throws: APIError.self) { try options.validatedChoiceCount(prompts: prompts, limit: 16) }
    }

    @Test func countsWithinTheLimitPass() throws {
        var options = try JSONDecoder().decode(GenerationOptions.self, from: Data("{}".utf8))
        options.n = 8
        #expect(try options.validatedChoiceCount(prompts: 2, limit: 16) == 8)
    }
}

struct ConfigurationLimitTests {
    @Test(arguments: [
        "[model]\nthreads = 100000", "[model]\ncontext = 9223372036854775807", "[limits]\nmax_batch = 4611686018427387904",
        "[limits]\nqueue = -1", "[limits]\nmax_body_bytes = 9223372036854775807", "[limits]\nmax_choices = 1000000",
        "[limits]\nrequest_timeout = inf", "[limits]\nrequest_timeout = nan", "[server]\nidle_timeout = 0",
        "[server]\nread_timeout = 1e300", "[server]\ncors_origins = [\"https://x.example/\"]",
        "[server]\nallowed_hosts = [\"\"]", "[adapters]\nmax_mixture = 1000", "[realign]\ngrid_points = 100000",
        "[realign]\nthreads = 100000", "[realign]\nmax_pause = inf", "[realign]\nmax_tokens = 9223372036854775807",
        "[realign]\nauto_after_pairs = -5", "[[objectives]]\nname = \"a\"\n[[objectives]]\nname = \"a\"",
    ])
    func outOfRangeValuesAreRefused(_ toml: String) throws {
        #expect(throws: ConfigurationError.self) { try ServerConfiguration(toml: toml).validate() }
    }

    @Test func theDefaultsAndTheShippedFileAreValid() throws {
        try ServerConfiguration().validate()
        try ServerConfiguration(contentsOfFile: "configs/raconteur.toml").validate()
    }
}
