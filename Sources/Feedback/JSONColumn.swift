import Foundation
internal import GRDB

/// Reads and writes the JSON text columns. Decoding failures become `FeedbackStoreError.corruptRow`
/// rather than a crash, since the file can be edited outside the server.
enum JSONColumn {
    static func text(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, from row: Row, column: String, table: String,
                                     key: String) throws -> T {
        let text: String = try row.decode(forColumn: column)
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw FeedbackStoreError.corruptRow(table: table, key: key, reason: "column \(column) is not valid JSON for \(T.self)")
        }
    }

    static func decodeIfPresent<T: Decodable>(_ type: T.Type, from row: Row, column: String, table: String,
                                              key: String) throws -> T? {
        let text: String? = try row.decode(forColumn: column)
        guard text != nil else { return nil }
        return try decode(T.self, from: row, column: column, table: table, key: key)
    }
}
