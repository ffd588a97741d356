import Foundation
import GRDB
import Testing
@testable import Feedback

/// A store file written by the v1 schema (free text as TEXT), opened by this build: migration v2 keeps every row
/// identical, byte for byte, and the constraints keep working across old and new rows.
@Suite struct UpgradeFromV1Tests {
    let objectives = Fixtures.objectives

    /// Writes a v1 file the way the v1 code did (Swift strings bound as TEXT), plus what a v1 file may also hold:
    /// a TEXT with an embedded NUL written by another program, a deleted last pair (the AUTOINCREMENT counter is
    /// ahead of the rows), and a reference left dangling by a deletion with foreign keys off (the sqlite3 shell's
    /// default).
    static func writeVersion1Store(at path: String) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = false
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        var version1 = DatabaseMigrator()
        version1.registerMigration("v1") { db in try FeedbackSchema.createVersion1(db) }
        try version1.migrate(queue)
        try queue.write { db in
            let completion = """
                INSERT INTO completion (id, created, model, endpoint, prompt, text, finish_reason, prompt_tokens,
                                        completion_tokens, tradeoff, adapters, sampling)
                VALUES (?, '2026-01-02 03:04:05.678', 'smollm2', 'chat', ?, ?, 'stop', 7, 3, ?, ?, ?)
                """
            for (id, text) in [("cmpl-old-a", "Owls hunt."), ("cmpl-old-b", "Owls hunt at night, silently."),
                               ("cmpl-old-c", "Owls sleep by day.")] {
                try db.execute(sql: completion, arguments: [id, "<|im_start|>user\nOwls?<|im_end|>\n", text,
                                                            #"{"concise":0.5,"detailed":0.5}"#,
                                                            #"[{"name":"raco","scale":1,"version":2}]"#,
                                                            #"{"seed":18446744073709551615,"temperature":0.8}"#])
            }
            let pair = """
                INSERT INTO preference_pair (id, created, prompt, chosen, rejected, chosen_id, rejected_id, labels, "user", note)
                VALUES (?, '2026-01-02 03:04:06.000', ?, ?, ?, ?, ?, ?, ?, ?)
                """
            try db.execute(sql: pair, arguments: ["fb-old-1", "<|im_start|>user\nOwls?<|im_end|>\n", "Owls hunt.",
                                                  "Owls hunt at night, silently.", "cmpl-old-a", "cmpl-old-b",
                                                  #"{"concise":1,"detailed":-1}"#, "ada", nil])
            try db.execute(sql: pair, arguments: ["fb-old-2", "héllo, wörld 🦉", "b", "a", nil, nil, #"{"concise":-1}"#,
                                                  nil, "a note"])
            // TEXT with a NUL inside, as another program may write it (v1 read it back cut at the NUL).
            try db.execute(sql: """
                INSERT INTO preference_pair (id, created, prompt, chosen, rejected, labels)
                VALUES ('fb-old-3', '2026-01-02 03:04:07.000', 'nul' || char(0) || 'prompt', 'x' || char(0) || '1', 'x', '{"detailed":1}')
                """)
            try db.execute(sql: pair, arguments: ["fb-old-4", "deleted later", "a", "b", nil, nil, #"{"concise":1}"#, nil, nil])
            try db.execute(sql: "DELETE FROM preference_pair WHERE id = 'fb-old-4'")
            // A pair that names a completion deleted behind the store's back.
            try db.execute(sql: pair, arguments: ["fb-old-5", "dangling", "yes", "no", "cmpl-gone", nil, #"{"concise":1}"#,
                                                  nil, nil])

            try db.execute(sql: """
                INSERT INTO realign_job (id, state, created, request, report, pairs_used, feedback_through_seq)
                VALUES ('job-old', 'succeeded', '2026-01-02 03:05:00.000', '{"method":"raco"}', '{"ok":true}', 3, 3)
                """)
            try db.execute(sql: """
                INSERT INTO adapter_version (name, version, path, sha256, objectives, weights, method, job_id, created, active)
                VALUES ('raco', 2, '/adapters/raco.gguf', 'ab12', '["concise","detailed"]', '[0.5,0.5]', 'raco', 'job-old',
                        '2026-01-02 03:06:00.000', 1)
                """)
        }
        try queue.close()
    }

    /// Every row of every table, each value as SQLite's quote() of its bytes, by rowid: equal before and after
    /// the migration iff every row kept every byte.
    /// Every row of every table as quoted bytes, without the columns later migrations add (`leaving`).
    static func snapshot(_ db: Database, leaving added: Set<String> = []) throws -> [String: [[String]]] {
        var tables: [String: [[String]]] = [:]
        for table in ["completion", "preference_pair", "realign_job", "adapter_version"] {
            let columns = try db.columns(in: table).map(\.name).filter { !added.contains($0) }
            let selection = (["rowid"] + columns).map { "quote(CAST(\"\($0)\" AS BLOB))" }.joined(separator: ", ")
            tables[table] = try Row.fetchAll(db, sql: "SELECT \(selection) FROM \(table) ORDER BY rowid").map { row in
                (0..<row.count).map { row[$0] as String? ?? "" }
            }
        }
        return tables
    }

    @Test func migrationKeepsEveryRowByteForByte() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("feedback.sqlite")
        try Self.writeVersion1Store(at: path)
        let before = try DatabaseQueue(path: path)
        let (rowsBefore, counterBefore) = try await before.read { db in
            (try Self.snapshot(db), try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'preference_pair'"))
        }
        try before.close()
        #expect(rowsBefore["preference_pair"]?.count == 4)
        #expect(counterBefore == 5)

        let store = try FeedbackStore(path: path)
        #expect(try store.appliedMigrations() == ["v1", "v2", "v3", "v4"])
        let (rowsAfter, counterAfter, kinds, integrity) = try await store.database.read { db in
            (try Self.snapshot(db, leaving: ["key_id", "pruned"]),
             try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'preference_pair'"),
             try String.fetchAll(db, sql: """
                 SELECT DISTINCT typeof(prompt) || typeof(chosen) || typeof(rejected) FROM preference_pair
                 UNION SELECT DISTINCT typeof(prompt) || typeof(text) FROM completion
                 """),
             try String.fetchAll(db, sql: "PRAGMA integrity_check"))
        }
        #expect(rowsAfter == rowsBefore)
        #expect(counterAfter == counterBefore)
        #expect(Set(kinds) == ["blobblobblob", "blobblob"])
        #expect(integrity == ["ok"])
        // v3's key_id is NULL on every row that existed before it: no key is invented for them.
        let keyIDs = try await store.database.read { db in
            try String.fetchAll(db, sql: "SELECT key_id FROM completion WHERE key_id IS NOT NULL UNION ALL SELECT key_id FROM preference_pair WHERE key_id IS NOT NULL")
        }
        #expect(keyIDs.isEmpty)

        // Read through the store: the texts as v1 wrote them, and the NUL one whole at last.
        let pairs = try await store.allPreferences()
        #expect(pairs.map(\.id) == ["fb-old-1", "fb-old-2", "fb-old-3", "fb-old-5"])
        #expect(pairs.map(\.sequence) == [1, 2, 3, 5])
        #expect(pairs[0].prompt == "<|im_start|>user\nOwls?<|im_end|>\n" && pairs[0].chosen == "Owls hunt.")
        #expect(pairs[0].chosenID == "cmpl-old-a" && pairs[0].labels == ["concise": 1, "detailed": -1] && pairs[0].user == "ada")
        #expect(pairs[1].prompt == "héllo, wörld 🦉" && pairs[1].note == "a note" && pairs[1].user == nil)
        #expect(Array(pairs[2].prompt.utf8) == Array("nul\0prompt".utf8) && Array(pairs[2].chosen.utf8) == Array("x\01".utf8))
        #expect(pairs[3].chosenID == "cmpl-gone")
        let completion = try #require(try await store.completion(id: "cmpl-old-b"))
        #expect(completion.text == "Owls hunt at night, silently." && completion.sampling["seed"] == .unsignedInteger(.max))
        #expect(try await store.job(id: "job-old")?.report == .object(["ok": .bool(true)]))
        #expect(try await store.activeAdapters().map(\.key) == [AdapterVersionKey(name: "raco", version: 2)])
    }

    @Test func constraintsHoldAcrossOldAndNewRows() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("feedback.sqlite")
        try Self.writeVersion1Store(at: path)
        let store = try FeedbackStore(path: path)

        // Duplicates of old pairs, by texts in either order and by completion ids.
        await #expect(throws: FeedbackError.duplicatePair(existingID: "fb-old-1")) {
            try await store.addFeedback(chosenID: "cmpl-old-b", rejectedID: "cmpl-old-a", labels: ["detailed": 1],
                                        objectives: self.objectives)
        }
        await #expect(throws: FeedbackError.duplicatePair(existingID: "fb-old-2")) {
            try await store.addFeedback(prompt: "héllo, wörld 🦉", chosen: "a", rejected: "b", labels: ["concise": 1],
                                        objectives: self.objectives)
        }
        await #expect(throws: FeedbackError.duplicatePair(existingID: "fb-old-3")) {
            try await store.addFeedback(prompt: "nul\0prompt", chosen: "x", rejected: "x\01", labels: ["concise": 1],
                                        objectives: self.objectives)
        }
        // The unique index alone (BLOBs as the store writes them) refuses the mirror image of an old pair.
        await #expect {
            try await store.database.write { db in
                try db.execute(sql: """
                    INSERT INTO preference_pair (id, created, prompt, chosen, rejected, labels)
                    VALUES ('fb-raw', '2026-01-01 00:00:00.000', ?, ?, ?, '{"concise":1}')
                    """, arguments: [Data("héllo, wörld 🦉".utf8), Data("a".utf8), Data("b".utf8)])
            }
        } throws: { error in
            (error as? DatabaseError)?.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE
        }

        // New pairs: on old completions, and by texts; sequence numbers continue after the deleted pair's.
        let byIDs = try await store.addFeedback(chosenID: "cmpl-old-c", rejectedID: "cmpl-old-a", labels: ["concise": 1],
                                                objectives: objectives)
        #expect(byIDs.sequence == 6 && byIDs.prompt == "<|im_start|>user\nOwls?<|im_end|>\n")
        let byTexts = try await store.addFeedback(prompt: "nul\0prompt", chosen: "x\02", rejected: "x", labels: ["concise": 1],
                                                  objectives: objectives)
        #expect(byTexts.sequence == 7)
        await #expect(throws: FeedbackError.duplicatePair(existingID: byTexts.id)) {
            try await store.addFeedback(prompt: "nul\0prompt", chosen: "x", rejected: "x\02", labels: ["concise": 1],
                                        objectives: self.objectives)
        }
        #expect(try await store.feedbackCount() == 6)

        // The indexes and the references are those of v1.
        let (indexes, references) = try await store.database.read { db in
            (try String.fetchAll(db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('completion', 'preference_pair')
                    AND sql IS NOT NULL ORDER BY name
                """),
             try Row.fetchAll(db, sql: "PRAGMA foreign_key_list(preference_pair)").map { "\($0["from"] as String? ?? "")→\($0["table"] as String? ?? "")" })
        }
        #expect(indexes == ["preference_pair_canonical", "preference_pair_chosen_id", "preference_pair_rejected_id"])
        #expect(Set(references) == ["chosen_id→completion", "rejected_id→completion"])
        await #expect {
            try await store.database.write { db in
                try db.execute(sql: """
                    INSERT INTO preference_pair (id, created, prompt, chosen, rejected, chosen_id, labels)
                    VALUES ('fb-fk', '2026-01-01 00:00:00.000', x'70', x'61', x'62', 'cmpl-missing', '{}')
                    """)
            }
        } throws: { error in
            (error as? DatabaseError)?.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY
        }
        // Deleting a completion still clears the references to it.
        try await store.database.write { db in try db.execute(sql: "DELETE FROM completion WHERE id = 'cmpl-old-a'") }
        let first = try #require(try await store.preference(id: "fb-old-1"))
        #expect(first.chosenID == nil && first.rejectedID == "cmpl-old-b")
    }

    /// An emptied table keeps its AUTOINCREMENT counter through the rebuild: a sequence number is never reused.
    @Test func anEmptiedTableKeepsItsCounter() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("feedback.sqlite")
        try Self.writeVersion1Store(at: path)
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in try db.execute(sql: "DELETE FROM preference_pair") }
        try queue.close()
        let store = try FeedbackStore(path: path)
        let pair = try await Fixtures.addTextPair(store, 1)
        #expect(pair.sequence == 6)
    }
}
