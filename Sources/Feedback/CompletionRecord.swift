import Foundation
internal import GRDB

/// One adapter of the mixture a completion was generated with.
public struct AdapterUse: Codable, Sendable, Equatable, Hashable {
    public var name: String
    public var version: Int
    public var scale: Double

    public init(name: String, version: Int, scale: Double) {
        self.name = name
        self.version = version
        self.scale = scale
    }
}

/// Which endpoint produced a completion.
public enum CompletionEndpoint: String, Codable, Sendable, CaseIterable {
    case completions
    case chat
}

/// One generated choice as the server returned it, kept so feedback can name it by id.
public struct CompletionRecord: Codable, Sendable, Equatable {
    /// The choice-level id the server gave (`cmpl-…`).
    public var id: String
    /// Stored with millisecond precision.
    public var created: Date
    public var model: String
    /// The exact text the model saw (after the chat template for chat requests).
    public var prompt: String
    public var text: String
    /// "stop", "length", …; nil if the generation ended without one.
    public var finishReason: String?
    public var promptTokens: Int
    public var completionTokens: Int
    /// The request's trade-off, normalised; nil when it gave none.
    public var tradeoff: [String: Double]?
    /// The resolved mixture with pinned versions; empty for the base model.
    public var adapters: [AdapterUse]
    /// Sampling parameters (temperature, top_p, seed, max_tokens, …) as sent to the sampler.
    public var sampling: JSONValue
    public var endpoint: CompletionEndpoint
    /// The id of the API key that asked for it; nil on an open server.
    public var keyID: String?

    public init(id: String, created: Date = Date(), model: String, prompt: String, text: String,
                finishReason: String?, promptTokens: Int, completionTokens: Int,
                tradeoff: [String: Double]? = nil, adapters: [AdapterUse] = [], sampling: JSONValue = .object([:]),
                endpoint: CompletionEndpoint, keyID: String? = nil) {
        self.id = id
        self.created = created
        self.model = model
        self.prompt = prompt
        self.text = text
        self.finishReason = finishReason
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.tradeoff = tradeoff
        self.adapters = adapters
        self.sampling = sampling
        self.endpoint = endpoint
        self.keyID = keyID
    }

    enum CodingKeys: String, CodingKey {
        case id, created, model, prompt, text
        case finishReason = "finish_reason"
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case tradeoff, adapters, sampling, endpoint
        case keyID = "key_id"
    }
}

extension CompletionRecord {
    static let table = "completion"

    /// `prompt` and `text` are UTF-8 BLOBs (see `StoredText`).
    static let insertSQL = """
        INSERT INTO completion (id, created, model, endpoint, prompt, text, finish_reason, prompt_tokens,
                                completion_tokens, tradeoff, adapters, sampling, key_id)
        VALUES (?, ?, ?, ?, \(StoredText.placeholder), \(StoredText.placeholder), ?, ?, ?, ?, ?, ?, ?)
        """

    func insertArguments() throws -> StatementArguments {
        [id, created, model, endpoint.rawValue, StoredText.bytes(prompt), StoredText.bytes(text), finishReason, promptTokens,
         completionTokens, try tradeoff.map { try JSONColumn.text($0) }, try JSONColumn.text(adapters), try sampling.jsonText(), keyID]
    }

    /// Throws `FeedbackStoreError.corruptRow` for a row that cannot be read.
    init(row: Row) throws {
        let stored = StoredRow(row, table: Self.table, keyColumn: "id", fallback: "(unreadable id)")
        let endpointName: String = try stored.value("endpoint")
        guard let endpoint = CompletionEndpoint(rawValue: endpointName) else {
            throw stored.corrupt("unknown endpoint \(endpointName)")
        }
        self.init(
            id: try stored.value("id"),
            created: try stored.value("created"),
            model: try stored.value("model"),
            prompt: try stored.text("prompt"),
            text: try stored.text("text"),
            finishReason: try stored.value("finish_reason"),
            promptTokens: try stored.value("prompt_tokens"),
            completionTokens: try stored.value("completion_tokens"),
            tradeoff: try stored.optionalJSON([String: Double].self, "tradeoff"),
            adapters: try stored.json([AdapterUse].self, "adapters"),
            sampling: try stored.json(JSONValue.self, "sampling"),
            endpoint: endpoint,
            keyID: try stored.value("key_id"))
    }
}
