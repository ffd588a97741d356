import FeedbackPostgres
import Foundation
import PostgresNIO
import Testing
@testable import Feedback

/// What only the PostgreSQL store has: its URL and password sources, refusing other programs' and newer builds'
/// databases, and a clear error when the server cannot be reached.
@Suite struct PostgresStoreTests {
    @Test func theURLGivesThePasswordFromTheURLTheEnvironmentOrAFileAndNeverShowsIt() throws {
        let inURL = try PostgresStoreURL("postgres://app:s3cret@db.example:6543/feedback?sslmode=require", environment: [:])
        #expect(inURL.user == "app" && inURL.password == "s3cret" && inURL.host == "db.example" && inURL.port == 6543)
        #expect(inURL.database == "feedback" && inURL.sslMode == .require)
        #expect(!inURL.description.contains("s3cret") && inURL.description.contains("db.example:6543/feedback"))
        let fromEnvironment = try PostgresStoreURL("postgresql://app@localhost/feedback",
                                                   environment: [PostgresStoreURL.passwordVariable: "env-secret"])
        #expect(fromEnvironment.password == "env-secret" && fromEnvironment.port == 5432)

        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.path("password")
        try Data("file-secret\nignored\n".utf8).write(to: URL(fileURLWithPath: file))
        let fromFile = try PostgresStoreURL("postgres://app@localhost/feedback", environment: [PostgresStoreURL.passwordFileVariable: file])
        #expect(fromFile.password == "file-secret")
        try Data(repeating: 65, count: PostgresStoreURL.maximumPasswordFileBytes + 1).write(to: URL(fileURLWithPath: file))
        #expect(throws: FeedbackStoreError.self) {
            try PostgresStoreURL("postgres://app@localhost/feedback", environment: [PostgresStoreURL.passwordFileVariable: file])
        }

        for invalid in ["postgres://localhost/feedback", "postgres://app@/feedback", "postgres://app@localhost/",
                        "postgres://app:pw@localhost:0/feedback", "postgres://app@localhost/feedback?sslmode=maybe",
                        "postgres://app@localhost/feedback?options=x", "mysql://app@localhost/feedback", "data/feedback.sqlite"] {
            #expect(throws: FeedbackStoreError.self, "\(invalid)") { try PostgresStoreURL(invalid, environment: [:]) }
        }
        do {
            _ = try PostgresStoreURL("postgres://app:pw-in-error@localhost:99999/feedback", environment: [:])
            Issue.record("port 99999 accepted")
        } catch {
            #expect(!"\(error)".contains("pw-in-error"))
        }
    }

    @Test func aServerThatCannotBeReachedIsUnavailable() async throws {
        let port = try PostgresTestServer.freePort()
        let url = try PostgresStoreURL("postgres://postgres:secret@127.0.0.1:\(port)/feedback", environment: [:])
        let started = ContinuousClock.now
        do {
            _ = try await PostgresFeedbackStore.open(url: url, operationTimeout: .seconds(3))
            Issue.record("opened a store where no server listens")
        } catch FeedbackStoreError.unavailable(let store, _) {
            #expect(store == url.description && !store.contains("secret"))
        }
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test func anotherProgramsDatabaseAndANewerSchemaAreRefusedAndLeftAsTheyAre() async throws {
        let foreign = try await PostgresTestServer.shared.makeDatabase()
        try await PostgresTestServer.connect(to: foreign) { connection, logger in
            try await connection.query("CREATE TABLE invoices (id integer)", logger: logger)
        }
        await #expect(throws: FeedbackStoreError.notAFeedbackStore(path: foreign.description)) {
            try await PostgresFeedbackStore.open(url: foreign)
        }

        let url = try await PostgresTestServer.shared.makeDatabase()
        let store = try await PostgresFeedbackStore.open(url: url)
        #expect(try await store.appliedMigrations() == FeedbackSchema.knownMigrations)
        _ = try await Fixtures.addTextPair(store, 1)
        await store.close()
        try await PostgresTestServer.connect(to: url) { connection, logger in
            try await connection.query("INSERT INTO raconteur_migrations (identifier) VALUES ('v99')", logger: logger)
        }
        await #expect(throws: FeedbackStoreError.schemaTooNew(path: url.description, unknownMigrations: ["v99"])) {
            try await PostgresFeedbackStore.open(url: url)
        }
        // Reopened without the newer migration, the data is all there.
        try await PostgresTestServer.connect(to: url) { connection, logger in
            try await connection.query("DELETE FROM raconteur_migrations WHERE identifier = 'v99'", logger: logger)
        }
        #expect(try await PostgresFeedbackStore.open(url: url).feedbackCount() == 1)
    }
}
