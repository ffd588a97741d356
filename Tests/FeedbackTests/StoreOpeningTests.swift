import Foundation
import GRDB
import Testing
@testable import Feedback

@Suite struct StoreOpeningTests {
    @Test func opensInWALModeWithForeignKeysFullSyncAndABusyTimeout() async throws {
        let store = try FeedbackStore.temporary()
        let (journalMode, foreignKeys, synchronous, busyTimeout) = try await store.database.write { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"),
             try Int.fetchOne(db, sql: "PRAGMA synchronous"), try Int.fetchOne(db, sql: "PRAGMA busy_timeout"))
        }
        #expect(journalMode == "wal")
        #expect(foreignKeys == 1)
        #expect(synchronous == 2)  // FULL
        #expect(busyTimeout == 5000)
        #expect(try store.appliedMigrations() == ["v1", "v2", "v3", "v4"])
    }

    @Test func createsParentDirectoriesAndKeepsDataWhenReopened() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("a/b/c/feedback.sqlite")
        do {
            let store = try FeedbackStore(path: path)
            try await store.recordCompletions([Fixtures.completion(id: "cmpl-1", text: "hello")])
            _ = try await Fixtures.addTextPair(store, 1)
            _ = try await store.createJob(request: .object(["method": .string("raco")]))
        }
        let reopened = try FeedbackStore(path: path)
        #expect(try await reopened.completion(id: "cmpl-1")?.text == "hello")
        #expect(try await reopened.feedbackCount() == 1)
        #expect(try await reopened.jobs(limit: 10).count == 1)
        #expect(try reopened.appliedMigrations() == ["v1", "v2", "v3", "v4"])
    }

    @Test func foreignKeysAreEnforced() async throws {
        let store = try FeedbackStore.temporary()
        await #expect {
            try await store.database.write { db in
                try db.execute(sql: """
                    INSERT INTO preference_pair (id, created, prompt, chosen, rejected, chosen_id, labels)
                    VALUES ('fb-x', '2026-01-01 00:00:00.000', x'70', x'61', x'62', 'cmpl-missing', '{}')
                    """)
            }
        } throws: { error in
            (error as? DatabaseError)?.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY
        }
    }

    @Test func refusesAFileThatIsNotADatabaseAndLeavesItUntouched() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("notes.sqlite")
        let contents = Data(String(repeating: "these are my notes, not a database\n", count: 200).utf8)
        try contents.write(to: URL(fileURLWithPath: path))

        #expect(throws: FeedbackStoreError.notADatabase(path: path)) { try FeedbackStore(path: path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == contents)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["notes.sqlite"])
    }

    @Test func refusesAnotherProgramsDatabaseAndLeavesItUntouched() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("other.sqlite")
        try runSQLite(path: path, sql: "CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT); INSERT INTO accounts VALUES (1, 'ada');")
        let before = try Data(contentsOf: URL(fileURLWithPath: path))

        #expect(throws: FeedbackStoreError.notAFeedbackStore(path: path)) { try FeedbackStore(path: path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func refusesASchemaNewerThanThisBuild() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("feedback.sqlite")
        do {
            let store = try FeedbackStore(path: path)
            _ = try await Fixtures.addTextPair(store, 1)
            try await store.database.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9-from-the-future')")
            }
        }
        #expect(throws: FeedbackStoreError.schemaTooNew(path: path, unknownMigrations: ["v9-from-the-future"])) {
            try FeedbackStore(path: path)
        }
    }

    @Test func anEmptyFileBecomesANewStore() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("empty.sqlite")
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let store = try FeedbackStore(path: path)
        #expect(try await store.feedbackCount() == 0)
    }

    @Test func temporaryStoreRemovesItsFiles() throws {
        var store: FeedbackStore? = try FeedbackStore.temporary()
        let directory = (store!.path as NSString).deletingLastPathComponent
        #expect(FileManager.default.fileExists(atPath: directory))
        store = nil
        #expect(!FileManager.default.fileExists(atPath: directory))
    }
}

/// Runs SQL through the sqlite3 command line, as another program would.
func runSQLite(path: String, sql: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["sqlite3", path, sql]
    try process.run()
    process.waitUntilExit()
    if process.terminationStatus != 0 { throw CocoaError(.fileWriteUnknown) }
}

@Suite struct SchemaEvolutionTests {
    /// What a later release does: append a migration. The data survives it, and this build then refuses
    /// the file instead of writing to a schema it does not know.
    @Test func anAppendedMigrationKeepsDataAndOlderBuildsRefuseTheResult() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("feedback.sqlite")
        let pair: PreferencePair
        do {
            let store = try FeedbackStore(path: path)
            pair = try await Fixtures.addTextPair(store, 1)
        }
        var nextRelease = FeedbackSchema.migrator
        nextRelease.registerMigration("v2-test") { db in
            try db.execute(sql: "ALTER TABLE preference_pair ADD COLUMN rating INTEGER")
        }
        let queue = try DatabaseQueue(path: path)
        try nextRelease.migrate(queue)
        let (prompt, columns) = try await queue.read { db in
            (try String.fetchOne(db, sql: "SELECT prompt FROM preference_pair WHERE id = ?", arguments: [pair.id]),
             try db.columns(in: "preference_pair").map(\.name))
        }
        try queue.close()
        #expect(prompt == pair.prompt)
        #expect(columns.contains("rating"))
        #expect(throws: FeedbackStoreError.schemaTooNew(path: path, unknownMigrations: ["v2-test"])) { try FeedbackStore(path: path) }
    }

    @Test func aHandEditedRowIsReportedNotCrashedOn() async throws {
        let store = try FeedbackStore.temporary()
        let pair = try await Fixtures.addTextPair(store, 1)
        try await store.database.write { db in
            try db.execute(sql: "UPDATE preference_pair SET labels = 'not json' WHERE id = ?", arguments: [pair.id])
        }
        await #expect(throws: FeedbackStoreError.corruptRow(table: "preference_pair", key: pair.id,
                                                            reason: "column labels is not valid JSON for Dictionary<String, Int>")) {
            try await store.allPreferences()
        }
    }

    @Test func aDirectoryInPlaceOfTheFileIsACannotOpenError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect {
            try FeedbackStore(path: directory.url.path)
        } throws: { error in
            if case FeedbackStoreError.cannotOpen = error { return true }
            return false
        }
    }
}
