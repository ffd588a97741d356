import Feedback
import Foundation
import Logging
import PostgresNIO

/// The feedback store in a PostgreSQL database, for replicas that share one (issue 24; docs/STORE.md). Same data
/// model, migration names and semantics as the SQLite `FeedbackStore`: each method is one transaction, every write
/// transaction first takes one transaction-level advisory lock, so writes from all replicas are serialised as
/// SQLite's single writer serialises them (a pair's sequence number is then also its commit order, so paging and
/// `feedbackCount(afterSequence:)` never miss a pair that commits late), and unique indexes back every rule a
/// concurrent writer could break. Connections come from a pool; an operation that gets no answer within
/// `operationTimeout`, or loses its connection, throws `FeedbackStoreError.unavailable`.
public final class PostgresFeedbackStore: FeedbackStorage {
    public let url: PostgresStoreURL
    public let operationTimeout: Duration
    let client: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>

    public var location: String { url.description }

    public static let connectionLimits: ClosedRange<Int> = 1...100
    public static let defaultMaximumConnections = 10
    /// Long enough for a page of the export on a loaded server, short enough that a client waiting on a dead
    /// database hears about it.
    public static let defaultOperationTimeout: Duration = .seconds(15)
    public static let operationTimeouts: ClosedRange<Duration> = .milliseconds(100) ... .seconds(600)

    /// The advisory lock every write transaction takes ("Advisory Locks" in the manual's "Explicit Locking"): an
    /// arbitrary constant, the same in every build; it spells "RACOwrit".
    static let writeLockKey: Int64 = 0x5241_434F_7772_6974

    private init(url: PostgresStoreURL, maximumConnections: Int, operationTimeout: Duration, logger: Logger) {
        self.url = url
        self.operationTimeout = operationTimeout
        self.logger = logger
        let client = PostgresClient(configuration: url.clientConfiguration(maximumConnections: maximumConnections),
                                    backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
    }

    /// Connects to `url` and migrates the database to the current schema. An empty database becomes a store; one
    /// with tables but no migrations table is another program's and is refused (`notAFeedbackStore`), as is one a
    /// newer build migrated (`schemaTooNew`); both are left untouched. A server that cannot be reached within
    /// `operationTimeout` throws `unavailable`.
    public static func open(url: PostgresStoreURL, maximumConnections: Int = defaultMaximumConnections,
                            operationTimeout: Duration = defaultOperationTimeout,
                            logger: Logger = Logger(label: "raconteur.feedback.postgres")) async throws -> PostgresFeedbackStore {
        guard connectionLimits.contains(maximumConnections) else {
            throw FeedbackStoreError.cannotOpen(path: url.description, reason: "maximum connections \(maximumConnections) is outside \(connectionLimits)")
        }
        guard operationTimeouts.contains(operationTimeout) else {
            throw FeedbackStoreError.cannotOpen(path: url.description, reason: "operation timeout \(operationTimeout) is outside \(operationTimeouts)")
        }
        let store = PostgresFeedbackStore(url: url, maximumConnections: maximumConnections, operationTimeout: operationTimeout,
                                          logger: logger)
        do {
            try await store.migrate()
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    /// Opens the store at a `postgres://` URL string (see `PostgresStoreURL` for where the password comes from).
    public static func open(_ url: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            operationTimeout: Duration = defaultOperationTimeout) async throws -> PostgresFeedbackStore {
        try await open(url: try PostgresStoreURL(url, environment: environment), operationTimeout: operationTimeout)
    }

    /// Closes the pool's connections; later operations throw `unavailable`.
    public func close() async {
        runner.cancel()
        await runner.value
    }

    deinit { runner.cancel() }

    // MARK: Transactions

    enum Access { case read, write }

    /// Runs `body` in one transaction on a pooled connection: committed if it returns, rolled back if it throws. A
    /// write first takes the store's write lock; a read sees one snapshot (repeatable read) so a multi-statement
    /// read such as a page and its cursor agree. Errors come out as `FeedbackError` or `FeedbackStoreError`.
    /// `uniqueViolation`, if given, makes the error reported when a unique index refuses a write (the store checks
    /// first, so that happens only against a writer that skipped the write lock, or a hand-made row).
    func transaction<Result: Sendable>(_ access: Access,
                                       uniqueViolation: (@Sendable () async throws -> any Error)? = nil,
                                       _ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        let logger = logger
        do {
            return try await withDeadline {
                try await self.client.withConnection { connection in
                    switch access {
                    case .read: try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
                    case .write: try await connection.query("BEGIN", logger: logger)
                    }
                    do {
                        if access == .write {
                            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.writeLockKey))", logger: logger)
                        }
                        let result = try await body(connection)
                        try await connection.query("COMMIT", logger: logger)
                        return result
                    } catch {
                        // A connection that is gone has no transaction left to roll back.
                        _ = try? await connection.query("ROLLBACK", logger: logger)
                        throw error
                    }
                }
            }
        } catch {
            if Self.isUniqueViolation(error), let uniqueViolation { throw try await uniqueViolation() }
            throw mapped(error)
        }
    }

    private func withDeadline<Result: Sendable>(_ operation: @escaping @Sendable () async throws -> Result) async throws -> Result {
        let timeout = operationTimeout
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            if let first = try await group.next(), let result = first { return result }
            throw FeedbackStoreError.unavailable(store: location, reason: "no answer from the database within \(timeout)")
        }
    }

    /// The SQLSTATE of a server error, if `error` is one ("PostgreSQL Error Codes" in the manual).
    static func sqlState(_ error: any Error) -> String? {
        guard let error = error as? PSQLError, error.code == .server else { return nil }
        return error.serverInfo?[.sqlState]
    }

    static func isUniqueViolation(_ error: any Error) -> Bool { sqlState(error) == "23505" }

    /// The store's own errors pass through; the database's become `FeedbackStoreError`: `unavailable` for what a
    /// retry may fix (no connection, a connection lost, the server shutting down or out of resources), otherwise
    /// `operationFailed` with the server's message. Neither carries the password or a query's arguments.
    func mapped(_ error: any Error) -> any Error {
        switch error {
        case is FeedbackError, is FeedbackStoreError, is AdapterVersionHistoryError, is CancellationError:
            return error
        case let error as PSQLError where error.code == .server:
            let state = error.serverInfo?[.sqlState] ?? "?"
            let message = error.serverInfo?[.message] ?? "server error"
            // 08: connection exception, 53: insufficient resources, 57P: operator intervention (shutdown, restart).
            if state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57P") {
                return FeedbackStoreError.unavailable(store: location, reason: "\(message) (SQLSTATE \(state))")
            }
            return FeedbackStoreError.operationFailed(store: location, reason: "\(message) (SQLSTATE \(state))")
        case let error as PSQLError:
            var reason = "\(error.code)"
            if let underlying = error.underlying { reason += ": \(underlying)" }
            return FeedbackStoreError.unavailable(store: location, reason: reason)
        case let error as PostgresDecodingError:
            return FeedbackStoreError.operationFailed(store: location, reason: "column \(error.columnName): \(error.code)")
        default:
            return FeedbackStoreError.operationFailed(store: location, reason: String(describing: error))
        }
    }
}

extension PostgresConnection {
    /// Runs `query` and collects its rows.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRandomAccessRow] {
        var rows: [PostgresRandomAccessRow] = []
        for try await row in try await self.query(query, logger: logger) { rows.append(row.makeRandomAccess()) }
        return rows
    }

    func execute(_ query: PostgresQuery, logger: Logger) async throws {
        for try await _ in try await self.query(query, logger: logger) {}
    }
}
