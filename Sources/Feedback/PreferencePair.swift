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

    public init(sequence: Int64, id: String, created: Date, prompt: String, chosen: String, rejected: String,
                chosenID: String?, rejectedID: String?, labels: [String: Int], user: String?, note: String?) {
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
    }

    enum CodingKeys: String, CodingKey {
        case sequence, id, created, prompt, chosen, rejected
        case chosenID = "chosen_id"
        case rejectedID = "rejected_id"
        case labels, user, note
    }
}

/// One page of `feedback(after:limit:)`.
public struct FeedbackPage: Sendable, Equatable {
    /// Pairs in insertion order.
    public var pairs: [PreferencePair]
    /// Pass as `after` for the next page; nil on the last page.
    public var nextCursor: String?
    public var hasMore: Bool { nextCursor != nil }
}

extension PreferencePair {
    static let table = "preference_pair"

    init(row: Row) throws {
        let id: String = try row.decode(forColumn: "id")
        self.init(
            sequence: try row.decode(forColumn: "seq"),
            id: id,
            created: try row.decode(forColumn: "created"),
            prompt: try row.decode(forColumn: "prompt"),
            chosen: try row.decode(forColumn: "chosen"),
            rejected: try row.decode(forColumn: "rejected"),
            chosenID: try row.decode(forColumn: "chosen_id"),
            rejectedID: try row.decode(forColumn: "rejected_id"),
            labels: try JSONColumn.decode([String: Int].self, from: row, column: "labels", table: Self.table, key: id),
            user: try row.decode(forColumn: "user"),
            note: try row.decode(forColumn: "note"))
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
