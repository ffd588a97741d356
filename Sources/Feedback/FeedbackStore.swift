import Foundation
internal import GRDB

/// The durable store: completions, preference pairs, realignment jobs and adapter versions in one SQLite
/// file (WAL). Every method is safe to call from any task; writes are serialised by the single writer
/// connection and each method is one transaction.
public final class FeedbackStore: Sendable {
    /// The database file.
    public let path: String
    let database: DatabasePool
    private let removesFilesWhenReleased: Bool

    /// How long a writer waits for another process's lock (a `sqlite3` shell, a backup) before failing.
    public static let busyTimeout: TimeInterval = 5

    /// Opens the store at `path`, creating it and its parent directories if needed, and migrates it to
    /// the current schema. An existing store keeps its data. A file that is not a SQLite database, is
    /// another program's database, or was written by a newer schema throws `FeedbackStoreError` and is
    /// left untouched.
    public convenience init(path: String) throws {
        try self.init(path: path, removesFilesWhenReleased: false)
    }

    /// A store in a fresh temporary directory, deleted when the store is released (for tests).
    public static func temporary() throws -> FeedbackStore {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("raconteur-feedback-\(UUID().uuidString)")
        return try FeedbackStore(path: directory.appendingPathComponent("feedback.sqlite").path,
                                 removesFilesWhenReleased: true)
    }

    private init(path: String, removesFilesWhenReleased: Bool) throws {
        self.path = path
        self.removesFilesWhenReleased = removesFilesWhenReleased
        try Self.createParentDirectory(of: path)
        try Self.checkSQLiteHeader(path: path)

        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(Self.busyTimeout)
        configuration.label = "FeedbackStore"
        do {
            try Self.checkOwnership(path: path)
            database = try DatabasePool(path: path, configuration: configuration)
            // WAL alone already survives kill -9 (a commit is in the OS once write() returns); FULL also
            // syncs the WAL at every commit, so a committed pair survives a power cut too. Feedback writes
            // are rare. Set after opening: the pool sets NORMAL on its (single, long-lived) writer.
            try database.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
            try FeedbackSchema.migrator.migrate(database)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw FeedbackStoreError.notADatabase(path: path)
        } catch let error as DatabaseError {
            throw FeedbackStoreError.cannotOpen(path: path, reason: error.description)
        }
    }

    deinit {
        if removesFilesWhenReleased {
            // Unlinking files a connection still holds is fine on POSIX; the pool closes right after.
            try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
        }
    }

    private static func createParentDirectory(of path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        guard !directory.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw FeedbackStoreError.cannotCreateDirectory(path: directory, reason: error.localizedDescription)
        }
    }

    /// Refuses a non-empty file without the SQLite magic before SQLite touches it (an empty file is a
    /// valid new database).
    private static func checkSQLiteHeader(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }  // absent: SQLite creates it
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        if header.isEmpty { return }
        if header != Data("SQLite format 3\0".utf8) {
            throw FeedbackStoreError.notADatabase(path: path)
        }
    }

    /// Refuses a database that some other program owns, or that a newer build of this one migrated.
    /// It reads through a plain connection first because opening the pool switches the file to WAL,
    /// which would already be a change to someone else's database.
    private static func checkOwnership(path: String) throws {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? Int, size > 0 else { return }
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        let connection = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? connection.close() }
        let migrator = FeedbackSchema.migrator
        try connection.read { db in
            let applied = try migrator.appliedIdentifiers(db)
            let known = Set(migrator.migrations)
            let unknown = applied.subtracting(known)
            if !unknown.isEmpty {
                throw FeedbackStoreError.schemaTooNew(path: path, unknownMigrations: unknown.sorted())
            }
            if applied.isEmpty {
                let tables = try Int.fetchOne(db, sql: """
                    SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                    """) ?? 0
                if tables > 0 { throw FeedbackStoreError.notAFeedbackStore(path: path) }
            }
        }
    }

    /// Migration identifiers applied to this file, oldest first.
    public func appliedMigrations() throws -> [String] {
        try database.read { try FeedbackSchema.migrator.appliedMigrations($0) }
    }
}
