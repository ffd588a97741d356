import Foundation

/// What a key may do. `admin` includes the other two.
public enum APIScope: String, Sendable, CaseIterable {
    /// Generation: `POST /v1/completions` and `/v1/chat/completions`.
    case inference
    /// Posting preference pairs: `POST /v1/feedback`.
    case feedback
    /// Adapters (load, unload), realignment, reading, exporting and deleting stored data.
    case admin
}

/// One configured API key: the secret, the id it is known by in logs and in the store (never the key itself), its
/// scopes and its rate limits.
public struct APIKey: Sendable, Hashable, ExpressibleByStringLiteral {
    public var key: String
    public var id: String
    public var scopes: Set<APIScope>
    public var limits: RateLimits
    /// A line with the key alone (the older file format): every scope, no limits.
    public var isPlain: Bool

    public init(key: String, id: String? = nil, scopes: Set<APIScope> = Set(APIScope.allCases), limits: RateLimits = .unlimited,
                isPlain: Bool = false) {
        self.key = key
        self.id = id ?? APIKeyIdentity.fingerprint(of: key)
        self.scopes = scopes
        self.limits = limits
        self.isPlain = isPlain
    }

    /// A plain key (tests, and `apiKeys = ["sk-…"]`).
    public init(stringLiteral key: String) {
        self.init(key: key, isPlain: true)
    }
}

/// A key's token buckets: requests per minute and generated tokens per minute (nil: no limit). A bucket holds a
/// minute's worth and refills continuously.
public struct RateLimits: Sendable, Hashable {
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?

    public static let unlimited = RateLimits()

    public init(requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil) {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
    }
}

/// The API keys file: one key per line, alone (every scope, as before scopes existed) or followed by fields:
///
///     sk-ops-…   id=ops scopes=admin
///     sk-app-…   id=app scopes=inference,feedback rpm=120 tpm=20000
///
/// Blank lines and lines starting with # are skipped. `id` names the key in logs and stored rows (default: the
/// first 8 bytes of its SHA-256), `scopes` is a comma-separated list of inference, feedback and admin, `rpm` and
/// `tpm` limit requests and generated tokens per minute (1 to 10,000,000).
enum APIKeyFile {
    static let maxKeys = 10_000
    static let maxPerMinute = 10_000_000

    static func parse(_ text: String, path: String) throws -> [APIKey] {
        var keys: [APIKey] = []
        var seenKeys = Set<String>(), seenIDs = Set<String>()
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            func failure(_ message: String) -> ConfigurationError {
                ConfigurationError("\(path), line \(index + 1): \(message)")
            }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            var entry = APIKey(key: fields[0], isPlain: fields.count == 1)
            for field in fields.dropFirst() {
                guard let equals = field.firstIndex(of: "=") else { throw failure("'\(field)' is not name=value") }
                let name = String(field[..<equals]), value = String(field[field.index(after: equals)...])
                switch name {
                case "id":
                    guard !value.isEmpty, value.count <= 64, value.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                        throw failure("id must be 1 to 64 letters, digits, '-', '_' or '.'")
                    }
                    entry.id = value
                case "scopes":
                    var scopes = Set<APIScope>()
                    for name in value.split(separator: ",") {
                        guard let scope = APIScope(rawValue: String(name)) else {
                            throw failure("unknown scope '\(name)' (scopes: inference, feedback, admin)")
                        }
                        scopes.insert(scope)
                    }
                    guard !scopes.isEmpty else { throw failure("scopes= names no scope") }
                    entry.scopes = scopes
                case "rpm", "tpm":
                    guard let number = Int(value), (1...maxPerMinute).contains(number) else {
                        throw failure("\(name) must be a whole number from 1 to \(maxPerMinute)")
                    }
                    if name == "rpm" { entry.limits.requestsPerMinute = number } else { entry.limits.tokensPerMinute = number }
                default:
                    throw failure("unknown field '\(name)' (fields: id, scopes, rpm, tpm)")
                }
            }
            guard seenKeys.insert(entry.key).inserted else { throw failure("this key is listed twice") }
            guard seenIDs.insert(entry.id).inserted else { throw failure("the id '\(entry.id)' is used by two keys") }
            keys.append(entry)
            guard keys.count <= maxKeys else { throw failure("more than \(maxKeys) keys") }
        }
        return keys
    }
}
