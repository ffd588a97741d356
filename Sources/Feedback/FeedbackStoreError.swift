import Foundation

/// Why a store file cannot be opened or read. These are not client errors: the server reports them at start
/// (or as a 500) and leaves the file exactly as it found it.
public enum FeedbackStoreError: Error, Sendable, Equatable {
    /// The file exists but does not start with the SQLite header.
    case notADatabase(path: String)
    /// The file is a SQLite database with tables, but not one this program created.
    case notAFeedbackStore(path: String)
    /// The file was migrated by a newer Raconteur: it holds migrations this build does not know.
    case schemaTooNew(path: String, unknownMigrations: [String])
    case cannotCreateDirectory(path: String, reason: String)
    /// SQLite could not open or migrate the file (permissions, a directory at `path`, a full disk, …).
    case cannotOpen(path: String, reason: String)
    /// A stored row could not be decoded (for example a JSON column edited by hand).
    case corruptRow(table: String, key: String, reason: String)
    /// A database server (PostgreSQL) cannot be reached, or dropped the connection: the request may succeed later,
    /// so it is a 503 rather than a 500. `store` is the URL without its password.
    case unavailable(store: String, reason: String)
    /// The database server refused a statement for a reason that retrying will not fix.
    case operationFailed(store: String, reason: String)
}

extension FeedbackStoreError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .notADatabase(let path):
            "\(path) is not a SQLite database; refusing to open it as the feedback store."
        case .notAFeedbackStore(let path):
            "\(path) is a SQLite database that was not created by Raconteur; refusing to add tables to it."
        case .schemaTooNew(let path, let unknown):
            "\(path) was written by a newer Raconteur (unknown migrations: \(unknown.joined(separator: ", "))); refusing to open it."
        case .cannotCreateDirectory(let path, let reason):
            "Cannot create the directory \(path) for the feedback store: \(reason)"
        case .cannotOpen(let path, let reason):
            "Cannot open the feedback store \(path): \(reason)"
        case .corruptRow(let table, let key, let reason):
            "Row \(key) of table \(table) cannot be read: \(reason)"
        case .unavailable(let store, let reason):
            "The feedback store \(store) is unavailable: \(reason)"
        case .operationFailed(let store, let reason):
            "The feedback store \(store) refused an operation: \(reason)"
        }
    }
}

extension FeedbackStoreError: LocalizedError {
    public var errorDescription: String? { description }
}
