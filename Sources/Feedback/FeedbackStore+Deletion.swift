import Foundation
internal import GRDB

/// Deleting stored data on request and by retention (docs/PRIVACY.md).
extension FeedbackStore {
    /// Deletes the completion `id` and every preference pair that quotes it (a pair holds copies of its texts, so
    /// keeping it would keep the text). Returns the ids of the pairs deleted with it, or nil when no completion has
    /// that id. One transaction: all of it is deleted or none.
    public func deleteCompletion(id: String) async throws -> [String]? {
        try await database.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM completion WHERE id = ?", arguments: [id]) == true else { return nil }
            let pairs = try String.fetchAll(db, sql: "SELECT id FROM preference_pair WHERE chosen_id = ? OR rejected_id = ? ORDER BY seq",
                                            arguments: [id, id])
            try db.execute(sql: "DELETE FROM preference_pair WHERE chosen_id = ? OR rejected_id = ?", arguments: [id, id])
            try db.execute(sql: "DELETE FROM completion WHERE id = ?", arguments: [id])
            return pairs
        }
    }

    /// Deletes the preference pair `id` (the completions it names stay); false when there is none.
    public func deleteFeedback(id: String) async throws -> Bool {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM preference_pair WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    /// Retention: deletes the completions created before `cutoff` that no preference pair names, and returns how
    /// many. Completions with feedback stay as long as their pairs do.
    public func deleteCompletionsWithoutFeedback(createdBefore cutoff: Date) async throws -> Int {
        try await database.write { db in
            try db.execute(sql: """
                DELETE FROM completion WHERE created < ?
                  AND NOT EXISTS (SELECT 1 FROM preference_pair WHERE chosen_id = completion.id OR rejected_id = completion.id)
                """, arguments: [cutoff.asStored])
            return db.changesCount
        }
    }
}
