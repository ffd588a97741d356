import Foundation
internal import GRDB

/// One stored preference: for `prompt`, the user preferred `chosen` over `rejected` overall, with one label
/// per objective: 1 means the objective prefers `chosen`, -1 prefers `rejected`, 0 is a tie. Objectives
/// left out of `labels` were not judged.
public struct PreferencePair: Codable, Sendable, Equatable {
    /// Insertion order, strictly increasing and never reused: count new pairs with
    /// `feedbackCount(afterSequence:)`.
    public var sequence: Int64
    /// `fb-` and 24 hex digits.
    public var id: String
    /// Stored with millisecond precision.
    public var created: Date
    public var prompt: String
    public var chosen: String
    public var rejected: String
    /// The completions the texts came from, when the pair was given by completion ids.
    public var chosenID: String?
    public var rejectedID: String?
    public var labels: [String: Int]
    public var user: String?
    public var note: String?
    /// The id of the API key that posted it; nil on an open server.
    public var keyID: String?

    public init(sequence: Int64, id: String, created: Date, prompt: String, chosen: String, rejected: String,
                chosenID: String?, rejectedID: String?, labels: [String: Int], user: String?, note: String?,
                keyID: String? = nil) {
        self.sequence = sequence
        self.id = id
        self.created = created
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
        self.chosenID = chosenID
        self.rejectedID = rejectedID
        self.labels = labels
        self.user = user
        self.note = note
        self.keyID = keyID
    }

    enum CodingKeys: String, CodingKey {
        case sequence, id, created, prompt, chosen, rejected
        case chosenID = "chosen_id"
        case rejectedID = "rejected_id"
        case labels, user, note
        case keyID = "key_id"
    }
}

/// One page of `feedback(after:limit:)`.
public struct FeedbackPage: Sendable, Equatable {
    /// Pairs in insertion order: the page's rows that could be read (at most `limit`).
    public var pairs: [PreferencePair]
    /// The page's rows that could not be read (a column edited outside the server), left out of `pairs`. The
    /// caller reports them; the next page starts after them all the same.
    public var skipped: [SkippedRow]
    /// Pass as `after` for the next page; nil on the last page. The id of the page's last row, read or skipped.
    public var nextCursor: String?
    public var hasMore: Bool { nextCursor != nil }

    public init(pairs: [PreferencePair], skipped: [SkippedRow] = [], nextCursor: String?) {
        self.pairs = pairs
        self.skipped = skipped
        self.nextCursor = nextCursor
    }
}

extension PreferencePair {
    static let table = "preference_pair"

    /// Throws `FeedbackStoreError.corruptRow` for a row that cannot be read.
    init(row: Row) throws {
        let stored = StoredRow(row, table: Self.table, keyColumn: "id",
                               fallback: "seq \((try? row.decode(Int64.self, forColumn: "seq")).map(String.init) ?? "?")")
        self.init(
            sequence: try stored.value("seq"),
            id: try stored.value("id"),
            created: try stored.value("created"),
            prompt: try stored.text("prompt"),
            chosen: try stored.text("chosen"),
            rejected: try stored.text("rejected"),
            chosenID: try stored.value("chosen_id"),
            rejectedID: try stored.value("rejected_id"),
            labels: try stored.json([String: Int].self, "labels"),
            user: try stored.optionalText("user"),
            note: try stored.optionalText("note"),
            keyID: try stored.value("key_id"))
    }

    /// The row as `raconteur align` reads it: {"chosen","labels","prompt","rejected"}, keys sorted, no newline.
    public func exportLine() throws -> Data {
        struct ExportRow: Encodable {
            var prompt, chosen, rejected: String
            var labels: [String: Int]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(ExportRow(prompt: prompt, chosen: chosen, rejected: rejected, labels: labels))
    }
}
