import Feedback
import Foundation
import PostgresNIO

/// Completions, preference pairs and deletion: the same rules, checks and errors as FeedbackStore+Completions,
/// +Preferences and +Deletion, in the same order.
extension PostgresFeedbackStore {
    public func recordCompletions(_ records: [CompletionRecord]) async throws {
        guard !records.isEmpty else { return }
        let logger = logger
        try await transaction(.write, uniqueViolation: {
            try await self.transaction(.read) { connection -> any Error in
                for record in records {
                    if try await !connection.rows("SELECT 1 FROM completion WHERE id = \(record.id)", logger: logger).isEmpty {
                        return FeedbackError.duplicateCompletion(id: record.id)
                    }
                }
                return FeedbackStoreError.operationFailed(store: self.location, reason: "a unique index refused the completions")
            }
        }) { connection in
            for record in records {
                if try await !connection.rows("SELECT 1 FROM completion WHERE id = \(record.id)", logger: logger).isEmpty {
                    throw FeedbackError.duplicateCompletion(id: record.id)
                }
                let tradeoff = try record.tradeoff.map { try StoreConventions.jsonText($0) }
                let adapters = try StoreConventions.jsonText(record.adapters)
                let sampling = try record.sampling.jsonText()
                let created = PostgresColumns.dateText(StoreConventions.stored(record.created))
                try await connection.execute("""
                    INSERT INTO completion (id, created, model, endpoint, prompt, text, finish_reason, prompt_tokens,
                                            completion_tokens, tradeoff, adapters, sampling, key_id)
                    VALUES (\(record.id), \(created)::timestamptz, \(record.model), \(record.endpoint.rawValue),
                            \(Data(record.prompt.utf8)), \(Data(record.text.utf8)), \(record.finishReason), \(record.promptTokens),
                            \(record.completionTokens), \(tradeoff), \(adapters), \(sampling), \(record.keyID))
                    """, logger: logger)
            }
        }
    }

    public func completion(id: String) async throws -> CompletionRecord? {
        try await transaction(.read) { [logger] connection in
            try await connection.rows("SELECT \(unescaped: PostgresColumns.completion) FROM completion WHERE id = \(id)", logger: logger)
                .first.map(CompletionRecord.init(postgres:))
        }
    }

    public func completionCount() async throws -> Int {
        try await count("SELECT count(*) FROM completion")
    }

    // MARK: Preference pairs

    public func addFeedback(chosenID: String, rejectedID: String, labels: [String: Int], objectives: [String],
                            user: String?, note: String?, keyID: String?) async throws -> PreferencePair {
        if chosenID == rejectedID { throw FeedbackError.sameCompletion(id: chosenID) }
        try StoreConventions.validate(labels, objectives: objectives)
        return try await insertingPair { [logger] connection in
            let chosen = try await Self.completionText(connection, id: chosenID, field: "chosen_id", logger: logger)
            let rejected = try await Self.completionText(connection, id: rejectedID, field: "rejected_id", logger: logger)
            if !chosen.prompt.utf8.elementsEqual(rejected.prompt.utf8) {
                throw FeedbackError.differentPrompts(chosenID: chosenID, rejectedID: rejectedID)
            }
            if StoreConventions.isBlank(chosen.text) { throw FeedbackError.emptyText(field: "chosen_id") }
            if StoreConventions.isBlank(rejected.text) { throw FeedbackError.emptyText(field: "rejected_id") }
            if chosen.text.utf8.elementsEqual(rejected.text.utf8) { throw FeedbackError.identicalTexts(field: "rejected_id") }
            return PairInsert(prompt: chosen.prompt, chosen: chosen.text, rejected: rejected.text, chosenID: chosenID,
                              rejectedID: rejectedID, labels: labels, user: user, note: note, keyID: keyID)
        }
    }

    public func addFeedback(prompt: String, chosen: String, rejected: String, labels: [String: Int], objectives: [String],
                            user: String?, note: String?, keyID: String?) async throws -> PreferencePair {
        if StoreConventions.isBlank(prompt) { throw FeedbackError.emptyText(field: "prompt") }
        if StoreConventions.isBlank(chosen) { throw FeedbackError.emptyText(field: "chosen") }
        if StoreConventions.isBlank(rejected) { throw FeedbackError.emptyText(field: "rejected") }
        if chosen.utf8.elementsEqual(rejected.utf8) { throw FeedbackError.identicalTexts(field: "rejected") }
        try StoreConventions.validate(labels, objectives: objectives)
        return try await insertingPair { _ in
            PairInsert(prompt: prompt, chosen: chosen, rejected: rejected, chosenID: nil, rejectedID: nil, labels: labels,
                       user: user, note: note, keyID: keyID)
        }
    }

    struct PairInsert: Sendable {
        var prompt, chosen, rejected: String
        var chosenID, rejectedID: String?
        var labels: [String: Int]
        var user, note, keyID: String?
    }

    /// The pair that `prepare` makes, inserted in the same write transaction. The duplicate check reads first to
    /// name the stored pair; the unique index is what makes it hold against any writer, and a violation of it is
    /// reported the same way.
    private func insertingPair(_ prepare: @escaping @Sendable (PostgresConnection) async throws -> PairInsert) async throws -> PreferencePair {
        let logger = logger
        return try await transaction(.write, uniqueViolation: {
            try await self.transaction(.read) { connection -> any Error in
                let pair = try await prepare(connection)
                return FeedbackError.duplicatePair(existingID: try await Self.duplicate(of: pair, connection, logger: logger) ?? "unknown")
            }
        }) { connection in
            let pair = try await prepare(connection)
            if let existing = try await Self.duplicate(of: pair, connection, logger: logger) {
                throw FeedbackError.duplicatePair(existingID: existing)
            }
            let id = StoreConventions.randomID(prefix: "fb-")
            let created = StoreConventions.stored(Date())
            let rows = try await connection.rows("""
                INSERT INTO preference_pair (id, created, prompt, chosen, rejected, chosen_id, rejected_id, labels, "user", note, key_id)
                VALUES (\(id), \(PostgresColumns.dateText(created))::timestamptz, \(Data(pair.prompt.utf8)), \(Data(pair.chosen.utf8)),
                        \(Data(pair.rejected.utf8)), \(pair.chosenID), \(pair.rejectedID),
                        \(try StoreConventions.jsonText(pair.labels))::jsonb, \(pair.user.map { Data($0.utf8) }),
                        \(pair.note.map { Data($0.utf8) }), \(pair.keyID))
                RETURNING seq
                """, logger: logger)
            guard let sequence = try rows.first?["seq"].decode(Int64.self) else {
                throw FeedbackStoreError.operationFailed(store: self.location, reason: "INSERT returned no sequence number")
            }
            return PreferencePair(sequence: sequence, id: id, created: created, prompt: pair.prompt, chosen: pair.chosen,
                                  rejected: pair.rejected, chosenID: pair.chosenID, rejectedID: pair.rejectedID,
                                  labels: pair.labels, user: pair.user, note: pair.note, keyID: pair.keyID)
        }
    }

    private static func duplicate(of pair: PairInsert, _ connection: PostgresConnection, logger: Logger) async throws -> String? {
        let (prompt, chosen, rejected) = (Data(pair.prompt.utf8), Data(pair.chosen.utf8), Data(pair.rejected.utf8))
        // The digests let the canonical index find the row; the byte comparison decides.
        return try await connection.rows("""
            SELECT id FROM preference_pair
            WHERE sha256(prompt) = sha256(\(prompt)) AND sha256(least(chosen, rejected)) = sha256(least(\(chosen), \(rejected)))
              AND sha256(greatest(chosen, rejected)) = sha256(greatest(\(chosen), \(rejected)))
              AND prompt = \(prompt) AND least(chosen, rejected) = least(\(chosen), \(rejected))
              AND greatest(chosen, rejected) = greatest(\(chosen), \(rejected))
            """, logger: logger).first?["id"].decode(String.self)
    }

    private static func completionText(_ connection: PostgresConnection, id: String, field: String,
                                       logger: Logger) async throws -> (prompt: String, text: String) {
        guard let row = try await connection.rows("SELECT id, prompt, text FROM completion WHERE id = \(id)", logger: logger).first else {
            throw FeedbackError.unknownCompletion(id: id, field: field)
        }
        let stored = PostgresStoredRow(row, table: "completion", key: id)
        return (try stored.text("prompt"), try stored.text("text"))
    }

    public func preference(id: String) async throws -> PreferencePair? {
        try await transaction(.read) { [logger] connection in
            try await connection.rows("SELECT \(unescaped: PostgresColumns.pair) FROM preference_pair WHERE id = \(id)", logger: logger)
                .first.map(PreferencePair.init(postgres:))
        }
    }

    public func feedback(after cursor: String?, limit: Int, matching filter: FeedbackFilter) async throws -> FeedbackPage {
        guard FeedbackStore.pageSizes.contains(limit) else { throw FeedbackError.invalidLimit(limit, allowed: FeedbackStore.pageSizes) }
        return try await transaction(.read) { [logger] connection in
            var afterSequence: Int64 = 0
            if let cursor {
                guard let row = try await connection.rows("SELECT seq FROM preference_pair WHERE id = \(cursor)", logger: logger).first else {
                    throw FeedbackError.unknownCursor(cursor)
                }
                afterSequence = try row["seq"].decode(Int64.self)
            }
            // One row more than asked tells whether another page follows.
            var query: PostgresQuery = "SELECT \(unescaped: PostgresColumns.pair) FROM preference_pair WHERE seq > \(afterSequence)"
            Self.append(filter, to: &query)
            query.sql += " ORDER BY seq LIMIT \(limit + 1)"
            let rows = try await connection.rows(query, logger: logger)
            let page = rows.prefix(limit)
            let (pairs, skipped) = try page.partitioned(PreferencePair.init(postgres:))
            var nextCursor: String?
            if rows.count > limit, let last = page.last {
                nextCursor = try PostgresStoredRow(last, table: "preference_pair", key: "last of page").value("id")
            }
            return FeedbackPage(pairs: pairs, skipped: skipped, nextCursor: nextCursor)
        }
    }

    /// `filter` as a condition on preference_pair, its values bound (never spliced into the SQL). As in SQLite, a
    /// missing label counts as a tie (0) when an objective and a label are given.
    static func append(_ filter: FeedbackFilter, to query: inout PostgresQuery) {
        switch (filter.objective, filter.label) {
        case (nil, nil):
            break
        case let (objective?, nil):
            query.binds.append(objective)
            query.sql += " AND jsonb_exists(labels, $\(query.binds.count)::text)"
        case let (objective?, label?):
            query.binds.append(objective)
            query.binds.append(label)
            query.sql += " AND COALESCE(labels -> $\(query.binds.count - 1)::text, '0'::jsonb) = to_jsonb($\(query.binds.count)::bigint)"
        case let (nil, label?):
            query.binds.append(label)
            query.sql += " AND EXISTS (SELECT 1 FROM jsonb_each(labels) WHERE value = to_jsonb($\(query.binds.count)::bigint))"
        }
    }

    public func allPreferences() async throws -> [PreferencePair] {
        try await transaction(.read) { [logger] connection in
            try await connection.rows("SELECT \(unescaped: PostgresColumns.pair) FROM preference_pair ORDER BY seq", logger: logger)
                .map(PreferencePair.init(postgres:))
        }
    }

    public func preferences(afterSequence sequence: Int64) async throws -> [PreferencePair] {
        try await transaction(.read) { [logger] connection in
            try await connection.rows("""
                SELECT \(unescaped: PostgresColumns.pair) FROM preference_pair WHERE seq > \(sequence) ORDER BY seq
                """, logger: logger).map(PreferencePair.init(postgres:))
        }
    }

    public func feedbackCount(matching filter: FeedbackFilter) async throws -> Int {
        var query: PostgresQuery = "SELECT count(*) FROM preference_pair WHERE true"
        Self.append(filter, to: &query)
        return try await count(query)
    }

    public func feedbackCount() async throws -> Int {
        try await count("SELECT count(*) FROM preference_pair")
    }

    public func feedbackCount(afterSequence sequence: Int64) async throws -> Int {
        try await count("SELECT count(*) FROM preference_pair WHERE seq > \(sequence)")
    }

    public func latestFeedbackSequence() async throws -> Int64 {
        try await transaction(.read) { [logger] connection in
            try await connection.rows("SELECT coalesce(max(seq), 0) AS latest FROM preference_pair", logger: logger)
                .first?["latest"].decode(Int64.self) ?? 0
        }
    }

    func count(_ query: PostgresQuery) async throws -> Int {
        try await transaction(.read) { [logger] connection in
            guard let count = try await connection.rows(query, logger: logger).first?[0].decode(Int64.self) else { return 0 }
            return Int(count)
        }
    }

    // MARK: Deletion and retention (docs/PRIVACY.md)

    public func deleteCompletion(id: String) async throws -> [String]? {
        try await transaction(.write) { [logger] connection in
            guard try await !connection.rows("SELECT 1 FROM completion WHERE id = \(id)", logger: logger).isEmpty else { return nil }
            let pairs = try await connection.rows("""
                DELETE FROM preference_pair WHERE chosen_id = \(id) OR rejected_id = \(id) RETURNING seq, id
                """, logger: logger)
                .map { (try $0["seq"].decode(Int64.self), try $0["id"].decode(String.self)) }
                .sorted { $0.0 < $1.0 }.map(\.1)
            try await connection.execute("DELETE FROM completion WHERE id = \(id)", logger: logger)
            return pairs
        }
    }

    public func deleteFeedback(id: String) async throws -> Bool {
        try await transaction(.write) { [logger] connection in
            try await !connection.rows("DELETE FROM preference_pair WHERE id = \(id) RETURNING id", logger: logger).isEmpty
        }
    }

    public func deleteCompletionsWithoutFeedback(createdBefore cutoff: Date) async throws -> Int {
        let cutoffText = PostgresColumns.dateText(StoreConventions.stored(cutoff))
        return try await transaction(.write) { [logger] connection in
            try await connection.rows("""
                DELETE FROM completion WHERE created < \(cutoffText)::timestamptz
                  AND NOT EXISTS (SELECT 1 FROM preference_pair WHERE chosen_id = completion.id OR rejected_id = completion.id)
                RETURNING id
                """, logger: logger).count
        }
    }
}
