import Foundation
internal import GRDB

/// How the store keeps free text: prompts and texts of completions, the prompt, chosen and rejected texts of
/// preference pairs, and their user and note. Each is the UTF-8 encoding of the Swift string, byte for byte, in a
/// BLOB column (PostgreSQL: `bytea`); an empty text is the empty BLOB `x''`, never NULL. Not TEXT, because GRDB
/// binds a `String` with `sqlite3_bind_text(…, -1, …)` and reads one with `String(cString:)`, both of which stop at
/// the first U+0000: a text containing NUL would be cut there, and one starting with NUL would become ''. Every
/// SQL comparison of these columns (the duplicate check, the canonical unique index, CHECKs) therefore compares
/// bytes with bytes, which for UTF-8 orders as the code points do. Identifiers, enum names, dates and JSON stay
/// TEXT: the server makes them, and JSON writes U+0000 as the escape `\u0000`, so no NUL ever reaches them.
enum StoredText {
    /// The value to bind for `text`.
    static func bytes(_ text: String) -> Data { Data(text.utf8) }

    /// The placeholder for a NOT NULL text column bound with `bytes(_:)`. GRDB binds an empty `Data` with a null
    /// pointer, which SQLite stores as NULL; `coalesce` makes it the empty BLOB again.
    static let placeholder = "coalesce(?, x'')"

    /// The placeholder for a nullable text column: two arguments, `optionalArguments(_:)`, so that nil stays
    /// NULL and "" stays the empty BLOB.
    static let optionalPlaceholder = "CASE WHEN ? THEN coalesce(?, x'') END"

    static func optionalArguments(_ text: String?) -> [(any DatabaseValueConvertible)?] {
        [text != nil, text.map(bytes)]
    }
}

/// A stored row being read into a record. Every failure to read a column (a value of the wrong type, text that is
/// not UTF-8, JSON that does not parse: a file edited outside the server) becomes `FeedbackStoreError.corruptRow`
/// naming the table, the row and the column, never a crash; listings skip such rows and report them.
struct StoredRow {
    let row: Row
    let table: String
    /// The row's id (or name@version), for messages.
    let key: String

    init(_ row: Row, table: String, key: String) {
        self.row = row
        self.table = table
        self.key = key
    }

    /// A row keyed by its text `column`; `fallback` names it when that column cannot be read.
    init(_ row: Row, table: String, keyColumn column: String, fallback: @autoclosure () -> String) {
        self.init(row, table: table, key: (try? row.decode(String.self, forColumn: column)) ?? fallback())
    }

    func corrupt(_ reason: String) -> FeedbackStoreError {
        .corruptRow(table: table, key: key, reason: reason)
    }

    /// A plain column (id, date, number, enum name, …).
    func value<T: DatabaseValueConvertible>(_ column: String, as type: T.Type = T.self) throws -> T {
        do {
            return try row.decode(T.self, forColumn: column)
        } catch {
            var typeName = String(describing: T.self)
            if typeName.hasPrefix("Optional<") { typeName = String(typeName.dropFirst(9).dropLast()) }
            throw corrupt("column \(column) does not hold a value of type \(typeName)")
        }
    }

    /// A free-text column (see `StoredText`): its bytes must be UTF-8.
    func text(_ column: String) throws -> String {
        guard let text = try optionalText(column) else { throw corrupt("column \(column) is NULL") }
        return text
    }

    func optionalText(_ column: String) throws -> String? {
        guard let bytes = try value(column, as: Data?.self) else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw corrupt("column \(column) is not valid UTF-8")
        }
        return text
    }

    /// A JSON column.
    func json<T: Decodable>(_ type: T.Type, _ column: String) throws -> T {
        guard let value = try optionalJSON(T.self, column) else { throw corrupt("column \(column) is NULL") }
        return value
    }

    func optionalJSON<T: Decodable>(_ type: T.Type, _ column: String) throws -> T? {
        guard let bytes = try value(column, as: Data?.self) else { return nil }
        do {
            return try JSONDecoder().decode(T.self, from: bytes)
        } catch {
            throw corrupt("column \(column) is not valid JSON for \(T.self)")
        }
    }
}

/// A stored row that a listing or the export could not read and left out, with why (see `StoredRow`). The
/// caller reports it: the server logs a warning for each and tells the client how many rows it left out.
public struct SkippedRow: Sendable, Equatable, CustomStringConvertible {
    public var table: String
    /// The row's id (or name@version).
    public var key: String
    public var reason: String

    public init(table: String, key: String, reason: String) {
        self.table = table
        self.key = key
        self.reason = reason
    }

    public var description: String {
        FeedbackStoreError.corruptRow(table: table, key: key, reason: reason).description
    }
}

extension SkippedRow {
    /// Reads `rows` with `read`, keeping those that decode and collecting the corrupt ones. Any other error (the
    /// database failing) is thrown.
    static func partition<Record>(_ rows: some Sequence<Row>, _ read: (Row) throws -> Record) throws
        -> (records: [Record], skipped: [SkippedRow]) {
        var records: [Record] = []
        var skipped: [SkippedRow] = []
        for row in rows {
            do {
                records.append(try read(row))
            } catch FeedbackStoreError.corruptRow(let table, let key, let reason) {
                skipped.append(SkippedRow(table: table, key: key, reason: reason))
            }
        }
        return (records, skipped)
    }
}
