import Foundation
internal import GRDB

extension FeedbackStore {
    /// The page sizes `feedback(after:limit:)` accepts.
    public static let pageSizes: ClosedRange<Int> = 1...1000

    /// Stores a preference between two recorded completions of the same prompt. `objectives` is the
    /// configured list; `labels` may name a subset of it. Throws `FeedbackError` for a rule broken (see
    /// its cases), `duplicatePair` if the prompt with these two texts, in either order, is stored.
    public func addFeedback(chosenID: String, rejectedID: String, labels: [String: Int], objectives: [String],
                            user: String? = nil, note: String? = nil) async throws -> PreferencePair {
        if chosenID == rejectedID { throw FeedbackError.sameCompletion(id: chosenID) }
        try LabelValidation.validate(labels, objectives: objectives)
        return try await database.write { db in
            let chosen = try Self.completionText(db, id: chosenID, field: "chosen_id")
            let rejected = try Self.completionText(db, id: rejectedID, field: "rejected_id")
            if chosen.prompt != rejected.prompt {
                throw FeedbackError.differentPrompts(chosenID: chosenID, rejectedID: rejectedID)
            }
            if chosen.text.isBlank { throw FeedbackError.emptyText(field: "chosen_id") }
            if rejected.text.isBlank { throw FeedbackError.emptyText(field: "rejected_id") }
            if chosen.text == rejected.text { throw FeedbackError.identicalTexts(field: "rejected_id") }
            return try Self.insertPair(db, prompt: chosen.prompt, chosen: chosen.text, rejected: rejected.text,
                                       chosenID: chosenID, rejectedID: rejectedID, labels: labels, user: user, note: note)
        }
    }

    /// Stores a preference given as texts (for completions made elsewhere). Same rules as the id form;
    /// a prompt or text that is empty or only whitespace is refused.
    public func addFeedback(prompt: String, chosen: String, rejected: String, labels: [String: Int],
                            objectives: [String], user: String? = nil, note: String? = nil) async throws -> PreferencePair {
        if prompt.isBlank { throw FeedbackError.emptyText(field: "prompt") }
        if chosen.isBlank { throw FeedbackError.emptyText(field: "chosen") }
        if rejected.isBlank { throw FeedbackError.emptyText(field: "rejected") }
        if chosen == rejected { throw FeedbackError.identicalTexts(field: "rejected") }
        try LabelValidation.validate(labels, objectives: objectives)
        return try await database.write { db in
            try Self.insertPair(db, prompt: prompt, chosen: chosen, rejected: rejected, chosenID: nil, rejectedID: nil,
                                labels: labels, user: user, note: note)
        }
    }

    /// The pair with this id, or nil.
    public func preference(id: String) async throws -> PreferencePair? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM preference_pair WHERE id = ?", arguments: [id])
                .map(PreferencePair.init(row:))
        }
    }

    /// Pairs in insertion order, `limit` at a time (within `pageSizes`). `cursor` is nil for the first page,
    /// then the previous page's `nextCursor` (the id of its last pair). An unknown cursor throws `unknownCursor`.
    public func feedback(after cursor: String?, limit: Int) async throws -> FeedbackPage {
        guard Self.pageSizes.contains(limit) else { throw FeedbackError.invalidLimit(limit, allowed: Self.pageSizes) }
        return try await database.read { db in
            var afterSequence: Int64 = 0
            if let cursor {
                guard let sequence = try Int64.fetchOne(db, sql: "SELECT seq FROM preference_pair WHERE id = ?",
                                                        arguments: [cursor]) else {
                    throw FeedbackError.unknownCursor(cursor)
                }
                afterSequence = sequence
            }
            // One row more than asked tells whether another page follows.
            var pairs = try Row.fetchAll(db, sql: "SELECT * FROM preference_pair WHERE seq > ? ORDER BY seq LIMIT ?",
                                         arguments: [afterSequence, limit + 1]).map(PreferencePair.init(row:))
            let hasMore = pairs.count > limit
            if hasMore { pairs.removeLast() }
            return FeedbackPage(pairs: pairs, nextCursor: hasMore ? pairs.last?.id : nil)
        }
    }

    /// Every pair in insertion order (what the trainer reads).
    public func allPreferences() async throws -> [PreferencePair] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM preference_pair ORDER BY seq").map(PreferencePair.init(row:))
        }
    }

    /// Pairs stored after `sequence`, in insertion order (what an incremental trainer reads).
    public func preferences(afterSequence sequence: Int64) async throws -> [PreferencePair] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM preference_pair WHERE seq > ? ORDER BY seq", arguments: [sequence])
                .map(PreferencePair.init(row:))
        }
    }

    public func feedbackCount() async throws -> Int {
        try await database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM preference_pair") ?? 0 }
    }

    /// Pairs stored after `sequence` (for example a finished job's `feedbackThroughSequence`): a policy
    /// starts a job when this reaches N.
    public func feedbackCount(afterSequence sequence: Int64) async throws -> Int {
        try await database.read {
            try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM preference_pair WHERE seq > ?", arguments: [sequence]) ?? 0
        }
    }

    /// The sequence number of the newest pair; 0 when there is none.
    public func latestFeedbackSequence() async throws -> Int64 {
        try await database.read { try Int64.fetchOne($0, sql: "SELECT MAX(seq) FROM preference_pair") ?? 0 }
    }

    private static func completionText(_ db: Database, id: String, field: String) throws -> (prompt: String, text: String) {
        guard let row = try Row.fetchOne(db, sql: "SELECT prompt, text FROM completion WHERE id = ?", arguments: [id]) else {
            throw FeedbackError.unknownCompletion(id: id, field: field)
        }
        return (try row.decode(forColumn: "prompt"), try row.decode(forColumn: "text"))
    }

    /// Inserts inside the caller's write transaction. The duplicate check reads first to name the stored pair;
    /// the unique index on (prompt, min(texts), max(texts)) is what makes it hold under concurrent writers.
    private static func insertPair(_ db: Database, prompt: String, chosen: String, rejected: String,
                                   chosenID: String?, rejectedID: String?, labels: [String: Int],
                                   user: String?, note: String?) throws -> PreferencePair {
        let duplicateSQL = """
            SELECT id FROM preference_pair WHERE prompt = ? AND min(chosen, rejected) = min(?, ?) AND max(chosen, rejected) = max(?, ?)
            """
        let duplicateArguments: StatementArguments = [prompt, chosen, rejected, chosen, rejected]
        if let existing = try String.fetchOne(db, sql: duplicateSQL, arguments: duplicateArguments) {
            throw FeedbackError.duplicatePair(existingID: existing)
        }
        let id = RandomID.make(prefix: "fb-")
        let created = Date().asStored
        do {
            try db.execute(sql: """
                INSERT INTO preference_pair (id, created, prompt, chosen, rejected, chosen_id, rejected_id, labels, "user", note)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, created, prompt, chosen, rejected, chosenID, rejectedID, try JSONColumn.text(labels), user, note])
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            let existing = try String.fetchOne(db, sql: duplicateSQL, arguments: duplicateArguments) ?? "unknown"
            throw FeedbackError.duplicatePair(existingID: existing)
        }
        return PreferencePair(sequence: db.lastInsertedRowID, id: id, created: created, prompt: prompt, chosen: chosen,
                              rejected: rejected, chosenID: chosenID, rejectedID: rejectedID, labels: labels,
                              user: user, note: note)
    }
}

extension String {
    var isBlank: Bool { allSatisfy(\.isWhitespace) }
}
