import Foundation
internal import GRDB

extension FeedbackStore {
    /// The page sizes `feedback(after:limit:)` accepts.
    public static let pageSizes: ClosedRange<Int> = 1...1000

    /// Stores a preference between two recorded completions of the same prompt. `objectives` is the
    /// configured list; `labels` may name a subset of it. Throws `FeedbackError` for a rule broken (see
    /// its cases), `duplicatePair` if the prompt with these two texts, in either order, is stored.
    public func addFeedback(chosenID: String, rejectedID: String, labels: [String: Int], objectives: [String],
                            user: String? = nil, note: String? = nil, keyID: String? = nil) async throws -> PreferencePair {
        if chosenID == rejectedID { throw FeedbackError.sameCompletion(id: chosenID) }
        try LabelValidation.validate(labels, objectives: objectives)
        return try await database.write { db in
            let chosen = try Self.completionText(db, id: chosenID, field: "chosen_id")
            let rejected = try Self.completionText(db, id: rejectedID, field: "rejected_id")
            if !chosen.prompt.hasSameBytes(as: rejected.prompt) {
                throw FeedbackError.differentPrompts(chosenID: chosenID, rejectedID: rejectedID)
            }
            if chosen.text.isBlank { throw FeedbackError.emptyText(field: "chosen_id") }
            if rejected.text.isBlank { throw FeedbackError.emptyText(field: "rejected_id") }
            if chosen.text.hasSameBytes(as: rejected.text) { throw FeedbackError.identicalTexts(field: "rejected_id") }
            return try Self.insertPair(db, prompt: chosen.prompt, chosen: chosen.text, rejected: rejected.text,
                                       chosenID: chosenID, rejectedID: rejectedID, labels: labels, user: user, note: note,
                                       keyID: keyID)
        }
    }

    /// Stores a preference given as texts (for completions made elsewhere). Same rules as the id form;
    /// a prompt or text that is empty or only whitespace is refused. Texts are stored byte for byte (U+0000
    /// included) and compared as bytes: two texts are the same when their UTF-8 is (see `StoredText`).
    public func addFeedback(prompt: String, chosen: String, rejected: String, labels: [String: Int],
                            objectives: [String], user: String? = nil, note: String? = nil,
                            keyID: String? = nil) async throws -> PreferencePair {
        if prompt.isBlank { throw FeedbackError.emptyText(field: "prompt") }
        if chosen.isBlank { throw FeedbackError.emptyText(field: "chosen") }
        if rejected.isBlank { throw FeedbackError.emptyText(field: "rejected") }
        if chosen.hasSameBytes(as: rejected) { throw FeedbackError.identicalTexts(field: "rejected") }
        try LabelValidation.validate(labels, objectives: objectives)
        return try await database.write { db in
            try Self.insertPair(db, prompt: prompt, chosen: chosen, rejected: rejected, chosenID: nil, rejectedID: nil,
                                labels: labels, user: user, note: note, keyID: keyID)
        }
    }

    /// The pair with this id, or nil. Throws `FeedbackStoreError.corruptRow` if its row cannot be read.
    public func preference(id: String) async throws -> PreferencePair? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM preference_pair WHERE id = ?", arguments: [id])
                .map(PreferencePair.init(row:))
        }
    }

    /// Pairs in insertion order, `limit` rows at a time (within `pageSizes`). `cursor` is nil for the first page,
    /// then the previous page's `nextCursor` (the id of its last row). An unknown cursor throws `unknownCursor`.
    /// A row that cannot be read (a column edited outside the server, e.g. labels that are not JSON) does not
    /// fail the page: it is left out of `pairs` and listed in `skipped` for the caller to report, and paging
    /// goes on past it.
    /// With `filter`, only the pairs it matches are paged (and counted by `feedbackCount(matching:)`).
    public func feedback(after cursor: String?, limit: Int, matching filter: FeedbackFilter = FeedbackFilter()) async throws -> FeedbackPage {
        guard Self.pageSizes.contains(limit) else { throw FeedbackError.invalidLimit(limit, allowed: Self.pageSizes) }
        let (condition, filterArguments) = filter.sql
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
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM preference_pair WHERE seq > ? AND \(condition) ORDER BY seq LIMIT ?",
                                        arguments: [afterSequence] + filterArguments + [limit + 1])
            let page = rows.prefix(limit)
            let (pairs, skipped) = try SkippedRow.partition(page, PreferencePair.init(row:))
            var nextCursor: String?
            if rows.count > limit, let last = page.last {
                // The last row's id even if the row was skipped; ids are TEXT the server wrote.
                guard case .string(let id)? = (try? last.decode(DatabaseValue.self, forColumn: "id"))?.storage else {
                    let sequence = (try? last.decode(Int64.self, forColumn: "seq")).map(String.init) ?? "?"
                    throw FeedbackStoreError.corruptRow(table: PreferencePair.table, key: "seq \(sequence)",
                                                        reason: "column id is not text, so paging cannot continue past it")
                }
                nextCursor = id
            }
            return FeedbackPage(pairs: pairs, skipped: skipped, nextCursor: nextCursor)
        }
    }

    /// Every pair in insertion order (what the trainer reads). Throws `FeedbackStoreError.corruptRow` naming the
    /// first row that cannot be read: a training set is never silently short of a pair.
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

    /// The number of stored pairs `filter` matches.
    public func feedbackCount(matching filter: FeedbackFilter) async throws -> Int {
        let (condition, arguments) = filter.sql
        return try await database.read {
            try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM preference_pair WHERE \(condition)", arguments: arguments) ?? 0
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
        let stored = StoredRow(row, table: CompletionRecord.table, key: id)
        return (try stored.text("prompt"), try stored.text("text"))
    }

    /// Inserts inside the caller's write transaction. The duplicate check reads first to name the stored pair;
    /// the unique index on (prompt, min(texts), max(texts)) is what makes it hold under concurrent writers. Both
    /// compare UTF-8 BLOBs with UTF-8 BLOBs (see `StoredText`).
    private static func insertPair(_ db: Database, prompt: String, chosen: String, rejected: String,
                                   chosenID: String?, rejectedID: String?, labels: [String: Int],
                                   user: String?, note: String?, keyID: String?) throws -> PreferencePair {
        let duplicateSQL = """
            SELECT id FROM preference_pair WHERE prompt = ? AND min(chosen, rejected) = min(?, ?) AND max(chosen, rejected) = max(?, ?)
            """
        let (promptBytes, chosenBytes, rejectedBytes) = (StoredText.bytes(prompt), StoredText.bytes(chosen), StoredText.bytes(rejected))
        let duplicateArguments: StatementArguments = [promptBytes, chosenBytes, rejectedBytes, chosenBytes, rejectedBytes]
        if let existing = try String.fetchOne(db, sql: duplicateSQL, arguments: duplicateArguments) {
            throw FeedbackError.duplicatePair(existingID: existing)
        }
        let id = RandomID.make(prefix: "fb-")
        let created = Date().asStored
        do {
            let text = StoredText.placeholder, optionalText = StoredText.optionalPlaceholder
            var arguments: [(any DatabaseValueConvertible)?] = [id, created, promptBytes, chosenBytes, rejectedBytes, chosenID,
                                                                rejectedID, try JSONColumn.text(labels)]
            arguments += StoredText.optionalArguments(user) + StoredText.optionalArguments(note) + [keyID]
            try db.execute(sql: """
                INSERT INTO preference_pair (id, created, prompt, chosen, rejected, chosen_id, rejected_id, labels, "user", note, key_id)
                VALUES (?, ?, \(text), \(text), \(text), ?, ?, ?, \(optionalText), \(optionalText), ?)
                """, arguments: StatementArguments(arguments))
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            let existing = try String.fetchOne(db, sql: duplicateSQL, arguments: duplicateArguments) ?? "unknown"
            throw FeedbackError.duplicatePair(existingID: existing)
        }
        return PreferencePair(sequence: db.lastInsertedRowID, id: id, created: created, prompt: prompt, chosen: chosen,
                              rejected: rejected, chosenID: chosenID, rejectedID: rejectedID, labels: labels,
                              user: user, note: note, keyID: keyID)
    }
}

extension String {
    var isBlank: Bool { allSatisfy(\.isWhitespace) }

    /// Byte equality of the UTF-8, as the store compares texts (`==` on `String` is canonical equivalence, under
    /// which "é" precomposed equals "e" and a combining accent).
    func hasSameBytes(as other: String) -> Bool { utf8.elementsEqual(other.utf8) }
}
