import Foundation
import GRDB

/// The durable store: completions, preference pairs, realignment jobs and adapter versions in SQLite (WAL).
public final class FeedbackStore: Sendable {
    let database: DatabasePool

    /// Opens (creating if needed) the store at `path` and migrates it to the current schema.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        database = try DatabasePool(path: path, configuration: configuration)
    }
}
