import Foundation

/// Writes the JSON text columns: compact, keys sorted. `StoredRow.json` reads them back, turning a value that
/// does not parse into `FeedbackStoreError.corruptRow` rather than a crash, since the file can be edited outside
/// the server.
enum JSONColumn {
    static func text(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
