import FeedbackPostgres
import Foundation
import GRDB
import PostgresNIO
import Testing
@testable import Feedback

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("feedback-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// The store backends the shared suites run against (`@Test(arguments: Backend.allCases)`). PostgreSQL runs on the
/// test process's own server (`PostgresTestServer`); if that cannot start, the test fails.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// A new, empty store.
    func makeStore() async throws -> any FeedbackStorage {
        switch self {
        case .sqlite: try FeedbackStore.temporary()
        case .postgres: try await makeLocation().open()
        }
    }

    /// A new, empty place for a store that tests open more than once (a restart, two writers).
    func makeLocation() async throws -> StoreLocation {
        switch self {
        case .sqlite:
            let directory = try TemporaryDirectory()
            let path = directory.path("feedback.sqlite")
            return StoreLocation(open: { try FeedbackStore(path: path) }, remove: { directory.remove() })
        case .postgres:
            let url = try await PostgresTestServer.shared.makeDatabase()
            // Few connections per store: many tests run at once against one server.
            return StoreLocation(open: { try await PostgresFeedbackStore.open(url: url, maximumConnections: 4) }, remove: {})
        }
    }
}

/// Where a test's store lives; each `open()` is a new store object on the same data, as a restarted server or a
/// second replica would have.
struct StoreLocation: Sendable {
    let open: @Sendable () async throws -> any FeedbackStorage
    /// Removes a SQLite directory; a PostgreSQL test database goes with the test server.
    let remove: @Sendable () -> Void
}

enum Fixtures {
    static let objectives = ["concise", "detailed"]

    static func completion(id: String, prompt: String = "Tell me about owls.", text: String) -> CompletionRecord {
        CompletionRecord(
            id: id, created: Date(timeIntervalSince1970: 1_790_000_000.25), model: "smollm2-135m-instruct",
            prompt: prompt, text: text, finishReason: "stop", promptTokens: 7, completionTokens: 12,
            tradeoff: ["concise": 0.7, "detailed": 0.3],
            adapters: [AdapterUse(name: "raco-w0.75", version: 2, scale: 0.8), AdapterUse(name: "raco-w0.50", version: 1, scale: 0.2)],
            sampling: .object(["temperature": .double(0.8), "top_p": .double(0.95), "seed": .unsignedInteger(UInt64.max),
                               "max_tokens": .integer(64)]),
            endpoint: .chat)
    }

    static let twoCompletions = [
        completion(id: "cmpl-a", text: "Owls hunt at night."),
        completion(id: "cmpl-b", text: "Owls are nocturnal birds of prey with silent flight and keen hearing."),
    ]

    /// Two completions of one prompt, recorded, for id-based feedback.
    static func storeWithTwoCompletions(_ backend: Backend) async throws -> any FeedbackStorage {
        let store = try await backend.makeStore()
        try await store.recordCompletions(twoCompletions)
        return store
    }

    /// The same in a SQLite store, for the SQLite-only suites that reach into its file.
    static func storeWithTwoCompletions() async throws -> FeedbackStore {
        let store = try FeedbackStore.temporary()
        try await store.recordCompletions(twoCompletions)
        return store
    }

    static func addTextPair(_ store: any FeedbackStorage, _ index: Int) async throws -> PreferencePair {
        try await store.addFeedback(prompt: "prompt \(index)", chosen: "short \(index)", rejected: "long answer \(index)",
                                    labels: ["concise": 1, "detailed": -1], objectives: objectives)
    }
}

/// SQL run on a store's database directly, past the store's checks: what the schema alone allows.
enum RawSQL {
    /// Runs one statement; throws what the database throws.
    static func execute(_ store: any FeedbackStorage, _ sql: String) async throws {
        switch store {
        case let store as FeedbackStore:
            try await store.database.write { try $0.execute(sql: sql) }
        case let store as PostgresFeedbackStore:
            try await PostgresTestServer.connect(to: store.url) { connection, logger in
                try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            }
        default:
            Issue.record("no raw SQL for \(type(of: store))")
        }
    }

    /// A literal of these bytes (hex) in the backend's SQL.
    static func bytes(_ backend: Backend, _ hex: String) -> String {
        switch backend {
        case .sqlite: "x'\(hex)'"
        case .postgres: "'\\x\(hex)'::bytea"
        }
    }

    static func isUniqueViolation(_ error: any Error) -> Bool {
        (error as? DatabaseError)?.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE || sqlState(error) == "23505"
    }

    /// A NOT NULL, CHECK, UNIQUE or foreign key refusal.
    static func isConstraintViolation(_ error: any Error) -> Bool {
        (error as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT || sqlState(error)?.hasPrefix("23") == true
    }

    static func sqlState(_ error: any Error) -> String? {
        guard let error = error as? PSQLError, error.code == .server else { return nil }
        return error.serverInfo?[.sqlState]
    }
}
