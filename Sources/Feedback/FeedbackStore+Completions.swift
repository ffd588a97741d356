import Foundation
internal import GRDB

extension FeedbackStore {
    /// Records the choices of one response in one transaction: all are stored or none.
    /// Throws `FeedbackError.duplicateCompletion` if an id is already recorded.
    public func recordCompletions(_ records: [CompletionRecord]) async throws {
        guard !records.isEmpty else { return }
        try await database.write { db in
            for var record in records {
                record.created = record.created.asStored
                if try Bool.fetchOne(db, sql: "SELECT 1 FROM completion WHERE id = ?", arguments: [record.id]) == true {
                    throw FeedbackError.duplicateCompletion(id: record.id)
                }
                try db.execute(sql: CompletionRecord.insertSQL, arguments: try record.insertArguments())
            }
        }
    }

    /// The completion with this id, or nil.
    public func completion(id: String) async throws -> CompletionRecord? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM completion WHERE id = ?", arguments: [id])
                .map(CompletionRecord.init(row:))
        }
    }

    /// The number of recorded completions.
    public func completionCount() async throws -> Int {
        try await database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM completion") ?? 0 }
    }
}
