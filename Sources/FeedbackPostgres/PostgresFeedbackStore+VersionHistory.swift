import Feedback
import Foundation
import PostgresNIO

/// The adapter version history: the same rules and errors as FeedbackStore+VersionHistory.
extension PostgresFeedbackStore {
    @discardableResult
    public func activateAdapterVersion(name: String, version: Int) async throws -> AdapterVersionRecord {
        try await transaction(.write) { [logger] connection in
            guard let row = try await connection.rows("""
                SELECT \(unescaped: PostgresColumns.adapterVersion) FROM adapter_version WHERE name = \(name) AND version = \(version)
                """, logger: logger).first else {
                throw AdapterVersionHistoryError.unknownVersion(name: name, version: version)
            }
            var record = try AdapterVersionRecord(postgres: row)
            guard !record.pruned else { throw AdapterVersionHistoryError.prunedVersion(name: name, version: version) }
            // Deactivate first: the one-active-per-name index is checked after each statement.
            try await connection.execute("UPDATE adapter_version SET active = false WHERE name = \(name) AND active", logger: logger)
            try await connection.execute("UPDATE adapter_version SET active = true WHERE name = \(name) AND version = \(version)",
                                         logger: logger)
            record.active = true
            return record
        }
    }

    public func markAdapterVersionsPruned(name: String, versions: [Int]) async throws {
        guard !versions.isEmpty else { return }
        try await transaction(.write) { [logger] connection in
            for version in versions {
                if let row = try await connection.rows("""
                    SELECT active FROM adapter_version WHERE name = \(name) AND version = \(version)
                    """, logger: logger).first, try row["active"].decode(Bool.self) {
                    throw AdapterVersionHistoryError.prunedVersion(name: name, version: version)
                }
                try await connection.execute("UPDATE adapter_version SET pruned = true WHERE name = \(name) AND version = \(version)",
                                             logger: logger)
            }
        }
    }

    public func updateAdapterVersionPath(name: String, version: Int, path: String) async throws {
        try await transaction(.write) { [logger] connection in
            let updated = try await connection.rows("""
                UPDATE adapter_version SET path = \(path) WHERE name = \(name) AND version = \(version) RETURNING version
                """, logger: logger)
            guard updated.count == 1 else { throw AdapterVersionHistoryError.unknownVersion(name: name, version: version) }
        }
    }

    /// Counted in Swift from the completions' `adapters` JSON (a text column, see PostgresSchema), as the SQLite
    /// store counts it in SQL; a completion whose JSON cannot be read counts as no adapters.
    public func adapterVersionQuality(name: String?) async throws -> [AdapterVersionKey: AdapterVersionQuality] {
        try await transaction(.read) { [logger] connection in
            let decoder = JSONDecoder()
            var result: [AdapterVersionKey: AdapterVersionQuality] = [:]
            let usage = try await connection.query("SELECT adapters, completion_tokens FROM completion", logger: logger)
            for try await (adapters, tokens) in usage.decode((String, Int64).self) {
                guard let uses = try? decoder.decode([AdapterUse].self, from: Data(adapters.utf8)) else { continue }
                for use in uses where name == nil || use.name == name {
                    let key = AdapterVersionKey(name: use.name, version: use.version)
                    result[key, default: AdapterVersionQuality()].completions += 1
                    result[key, default: AdapterVersionQuality()].completionTokens += Int(clamping: tokens)
                }
            }
            let pairs = try await connection.query("""
                SELECT p.labels::text, c1.adapters, c2.adapters
                FROM preference_pair p
                LEFT JOIN completion c1 ON c1.id = p.chosen_id
                LEFT JOIN completion c2 ON c2.id = p.rejected_id
                WHERE c1.id IS NOT NULL OR c2.id IS NOT NULL
                """, logger: logger)
            for try await (labelText, chosenText, rejectedText) in pairs.decode((String, String?, String?).self) {
                AdapterVersionQuality.count(pairLabels: labelText, chosenAdapters: chosenText, rejectedAdapters: rejectedText,
                                            named: name, decoder: decoder, into: &result)
            }
            return result
        }
    }
}
