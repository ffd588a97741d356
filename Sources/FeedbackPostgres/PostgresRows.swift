import Feedback
import Foundation
import PostgresNIO

/// A row being read into a record. As with SQLite's `StoredRow`, a value that cannot be read (bytes that are not
/// UTF-8, JSON that does not parse, a NULL where there must be a value) becomes `FeedbackStoreError.corruptRow`
/// naming the table, row and column; listings skip such rows and report them.
struct PostgresStoredRow {
    let row: PostgresRandomAccessRow
    let table: String
    let key: String

    init(_ row: PostgresRandomAccessRow, table: String, keyColumn: String, fallback: @autoclosure () -> String) {
        self.row = row
        self.table = table
        key = (try? row[keyColumn].decode(String.self)) ?? fallback()
    }

    init(_ row: PostgresRandomAccessRow, table: String, key: String) {
        self.row = row
        self.table = table
        self.key = key
    }

    func corrupt(_ reason: String) -> FeedbackStoreError { .corruptRow(table: table, key: key, reason: reason) }

    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        do {
            return try row[column].decode(T.self)
        } catch {
            throw corrupt("column \(column) does not hold a value of type \(T.self)")
        }
    }

    /// An integer column as `Int` (BIGINT), refusing one that does not fit.
    func int(_ column: String) throws -> Int {
        guard let value = Int(exactly: try value(column, as: Int64.self)) else { throw corrupt("column \(column) is out of range") }
        return value
    }

    func optionalInt(_ column: String) throws -> Int? {
        try value(column, as: Int64?.self).map { value in
            guard let int = Int(exactly: value) else { throw corrupt("column \(column) is out of range") }
            return int
        }
    }

    /// A free-text column: UTF-8 bytes (`bytea`).
    func text(_ column: String) throws -> String {
        guard let text = try optionalText(column) else { throw corrupt("column \(column) is NULL") }
        return text
    }

    func optionalText(_ column: String) throws -> String? {
        guard let bytes = try value(column, as: Data?.self) else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw corrupt("column \(column) is not valid UTF-8") }
        return text
    }

    /// A date column, selected as text by `PostgresColumns.date(_:)`.
    func date(_ column: String) throws -> Date {
        guard let date = try optionalDate(column) else { throw corrupt("column \(column) is NULL") }
        return date
    }

    func optionalDate(_ column: String) throws -> Date? {
        guard let text = try value(column, as: String?.self) else { return nil }
        guard let date = StoreConventions.date(text) else { throw corrupt("column \(column) is not a date") }
        return date
    }

    func json<T: Decodable>(_ type: T.Type, _ column: String) throws -> T {
        guard let value = try optionalJSON(T.self, column) else { throw corrupt("column \(column) is NULL") }
        return value
    }

    func optionalJSON<T: Decodable>(_ type: T.Type, _ column: String) throws -> T? {
        guard let text = try value(column, as: String?.self) else { return nil }
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw corrupt("column \(column) is not valid JSON for \(T.self)")
        }
    }
}

/// Column lists: dates come back as SQLite's date text (UTC, milliseconds), so both stores return equal dates;
/// labels as JSON text.
enum PostgresColumns {
    static func date(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS \(column)"
    }

    /// The text to bind for a date, cast with `::timestamptz`.
    static func dateText(_ date: Date) -> String { StoreConventions.text(date) + "+00" }

    static let completion = """
        id, \(date("created")), model, endpoint, prompt, text, finish_reason, prompt_tokens, completion_tokens, tradeoff,
        adapters, sampling, key_id
        """
    static let pair = """
        seq, id, \(date("created")), prompt, chosen, rejected, chosen_id, rejected_id, labels::text AS labels, "user", note, key_id
        """
    static let job = """
        seq, id, state, \(date("created")), \(date("started")), \(date("finished")), request, progress, report, error, pairs_used,
        feedback_through_seq
        """
    static let adapterVersion = "name, version, path, sha256, objectives, weights, method, job_id, \(date("created")), active, pruned"
}

extension CompletionRecord {
    init(postgres row: PostgresRandomAccessRow) throws {
        let stored = PostgresStoredRow(row, table: "completion", keyColumn: "id", fallback: "(unreadable id)")
        let endpointName: String = try stored.value("endpoint")
        guard let endpoint = CompletionEndpoint(rawValue: endpointName) else { throw stored.corrupt("unknown endpoint \(endpointName)") }
        self.init(id: try stored.value("id"), created: try stored.date("created"), model: try stored.value("model"),
                  prompt: try stored.text("prompt"), text: try stored.text("text"), finishReason: try stored.value("finish_reason"),
                  promptTokens: try stored.int("prompt_tokens"), completionTokens: try stored.int("completion_tokens"),
                  tradeoff: try stored.optionalJSON([String: Double].self, "tradeoff"),
                  adapters: try stored.json([AdapterUse].self, "adapters"), sampling: try stored.json(JSONValue.self, "sampling"),
                  endpoint: endpoint, keyID: try stored.value("key_id"))
    }
}

extension PreferencePair {
    init(postgres row: PostgresRandomAccessRow) throws {
        let stored = PostgresStoredRow(row, table: "preference_pair", keyColumn: "id",
                                       fallback: "seq \((try? row["seq"].decode(Int64.self)).map(String.init) ?? "?")")
        self.init(sequence: try stored.value("seq"), id: try stored.value("id"), created: try stored.date("created"),
                  prompt: try stored.text("prompt"), chosen: try stored.text("chosen"), rejected: try stored.text("rejected"),
                  chosenID: try stored.value("chosen_id"), rejectedID: try stored.value("rejected_id"),
                  labels: try stored.json([String: Int].self, "labels"), user: try stored.optionalText("user"),
                  note: try stored.optionalText("note"), keyID: try stored.value("key_id"))
    }
}

extension RealignJob {
    init(postgres row: PostgresRandomAccessRow) throws {
        let stored = PostgresStoredRow(row, table: "realign_job", keyColumn: "id", fallback: "(unreadable id)")
        let stateName: String = try stored.value("state")
        guard let state = RealignJobState(rawValue: stateName) else { throw stored.corrupt("unknown state \(stateName)") }
        self.init(id: try stored.value("id"), state: state, created: try stored.date("created"),
                  started: try stored.optionalDate("started"), finished: try stored.optionalDate("finished"),
                  request: try stored.json(JSONValue.self, "request"), progress: try stored.optionalJSON(JSONValue.self, "progress"),
                  report: try stored.optionalJSON(JSONValue.self, "report"), error: try stored.value("error"),
                  pairsUsed: try stored.optionalInt("pairs_used"), feedbackThroughSequence: try stored.value("feedback_through_seq"))
    }
}

extension AdapterVersionRecord {
    init(postgres row: PostgresRandomAccessRow) throws {
        let name = (try? row["name"].decode(String.self)) ?? "(unreadable name)"
        let version = (try? row["version"].decode(Int64.self)).map(String.init) ?? "?"
        let stored = PostgresStoredRow(row, table: "adapter_version", key: "\(name)@\(version)")
        self.init(name: try stored.value("name"), version: try stored.int("version"), path: try stored.value("path"),
                  sha256: try stored.value("sha256"), objectives: try stored.json([String].self, "objectives"),
                  weights: try stored.json([Double].self, "weights"), method: try stored.value("method"),
                  jobID: try stored.value("job_id"), created: try stored.date("created"), active: try stored.value("active"),
                  pruned: try stored.value("pruned"))
    }
}

extension Sequence where Element == PostgresRandomAccessRow {
    /// Reads every row, keeping those that decode and collecting the corrupt ones (a listing's rows).
    func partitioned<Record>(_ read: (PostgresRandomAccessRow) throws -> Record) throws -> (records: [Record], skipped: [SkippedRow]) {
        var records: [Record] = []
        var skipped: [SkippedRow] = []
        for row in self {
            do {
                records.append(try read(row))
            } catch FeedbackStoreError.corruptRow(let table, let key, let reason) {
                skipped.append(SkippedRow(table: table, key: key, reason: reason))
            }
        }
        return (records, skipped)
    }
}
