import Foundation
internal import GRDB

/// Why an adapter version cannot be served again (rollback, pinning).
public enum AdapterVersionHistoryError: Error, Equatable, CustomStringConvertible {
    /// The store never recorded this version of the name.
    case unknownVersion(name: String, version: Int)
    /// Recorded, but its file left the history (`adapters.keep_versions`).
    case prunedVersion(name: String, version: Int)

    public var description: String {
        switch self {
        case .unknownVersion(let name, let version): return "adapter '\(name)' has no version \(version)"
        case .prunedVersion(let name, let version): return "version \(version) of adapter '\(name)' was pruned from the history"
        }
    }
}

/// How one objective's labels went for the completions one adapter version served: a pair counts for a version
/// when exactly one of its two completions was served by it (a pair it served on both sides says nothing about it).
public struct ObjectiveTally: Codable, Sendable, Equatable {
    /// Pairs whose label preferred the version's completion.
    public var wins = 0
    /// Pairs whose label preferred the other completion.
    public var losses = 0
    /// Pairs labelled 0 on this objective.
    public var ties = 0

    public init(wins: Int = 0, losses: Int = 0, ties: Int = 0) {
        self.wins = wins
        self.losses = losses
        self.ties = ties
    }

    /// wins / (wins + losses); nil before any decided pair.
    public var winRate: Double? { wins + losses == 0 ? nil : Double(wins) / Double(wins + losses) }
}

/// What one adapter version served and how the feedback on it went.
public struct AdapterVersionQuality: Codable, Sendable, Equatable {
    /// Stored completions (choices: a request with n = 2 counts twice) whose mixture held this version.
    public var completions = 0
    /// Their generated tokens.
    public var completionTokens = 0
    /// Per objective, from stored pairs that name its completions by id.
    public var objectives: [String: ObjectiveTally] = [:]

    public init(completions: Int = 0, completionTokens: Int = 0, objectives: [String: ObjectiveTally] = [:]) {
        self.completions = completions
        self.completionTokens = completionTokens
        self.objectives = objectives
    }
}

/// Counting stored pairs into per-version quality, shared by both stores.
public extension AdapterVersionQuality {
    /// The versions (of `name`, or of every adapter) a completion's stored `adapters` JSON names; JSON that cannot
    /// be read names none.
    static func versions(inAdaptersJSON text: String?, named name: String?, decoder: JSONDecoder) -> Set<AdapterVersionKey> {
        guard let text, let uses = try? decoder.decode([AdapterUse].self, from: Data(text.utf8)) else { return [] }
        return Set(uses.filter { name == nil || $0.name == name }.map { AdapterVersionKey(name: $0.name, version: $0.version) })
    }

    /// Counts one stored pair (its labels JSON and its two completions' `adapters` JSON) into `result`: per objective,
    /// a win for each version only on the side the label prefers (the chosen completion when the label is +1), a
    /// loss for each only on the other, a tie for both. Labels that cannot be read count nothing.
    static func count(pairLabels labelText: String?, chosenAdapters: String?, rejectedAdapters: String?, named name: String?,
                      decoder: JSONDecoder, into result: inout [AdapterVersionKey: AdapterVersionQuality]) {
        guard let labelText, let labels = try? decoder.decode([String: Int].self, from: Data(labelText.utf8)) else { return }
        let chosen = versions(inAdaptersJSON: chosenAdapters, named: name, decoder: decoder)
        let rejected = versions(inAdaptersJSON: rejectedAdapters, named: name, decoder: decoder)
        for (side, sign) in [(chosen.subtracting(rejected), 1), (rejected.subtracting(chosen), -1)] {
            for key in side {
                var quality = result[key, default: AdapterVersionQuality()]
                for (objective, label) in labels {
                    var tally = quality.objectives[objective, default: ObjectiveTally()]
                    switch label * sign {
                    case 1: tally.wins += 1
                    case -1: tally.losses += 1
                    case 0: tally.ties += 1
                    default: continue   // not a label (validated on insert; a hand-edited row is ignored)
                    }
                    quality.objectives[objective] = tally
                }
                result[key] = quality
            }
        }
    }
}

extension FeedbackStore {
    /// Makes version `version` of `name` the one to serve (and every other version of it inactive), in one
    /// transaction. Throws `AdapterVersionHistoryError` for a version never recorded or pruned.
    @discardableResult
    public func activateAdapterVersion(name: String, version: Int) async throws -> AdapterVersionRecord {
        try await database.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM adapter_version WHERE name = ? AND version = ?",
                                             arguments: [name, version]) else {
                throw AdapterVersionHistoryError.unknownVersion(name: name, version: version)
            }
            var record = try AdapterVersionRecord(row: row)
            guard !record.pruned else { throw AdapterVersionHistoryError.prunedVersion(name: name, version: version) }
            // Deactivate first: the one-active-per-name index is checked after each statement.
            try db.execute(sql: "UPDATE adapter_version SET active = 0 WHERE name = ? AND active = 1", arguments: [name])
            try db.execute(sql: "UPDATE adapter_version SET active = 1 WHERE name = ? AND version = ?", arguments: [name, version])
            record.active = true
            return record
        }
    }

    /// Marks versions of `name` pruned (their files are gone). The active version is never marked: throws
    /// `prunedVersion` for it and changes nothing.
    public func markAdapterVersionsPruned(name: String, versions: [Int]) async throws {
        guard !versions.isEmpty else { return }
        try await database.write { db in
            for version in versions {
                if try Bool.fetchOne(db, sql: "SELECT active FROM adapter_version WHERE name = ? AND version = ?",
                                     arguments: [name, version]) == true {
                    throw AdapterVersionHistoryError.prunedVersion(name: name, version: version)
                }
                try db.execute(sql: "UPDATE adapter_version SET pruned = 1 WHERE name = ? AND version = ?",
                               arguments: [name, version])
            }
        }
    }

    /// Where a version's file now is (the history folder, when a record from before it existed named the file
    /// in the adapters directory).
    public func updateAdapterVersionPath(name: String, version: Int, path: String) async throws {
        try await database.write { db in
            try db.execute(sql: "UPDATE adapter_version SET path = ? WHERE name = ? AND version = ?",
                           arguments: [path, name, version])
            guard db.changesCount == 1 else { throw AdapterVersionHistoryError.unknownVersion(name: name, version: version) }
        }
    }

    /// Per adapter version (of `name`, or of every name): the stored completions it served, their tokens, and the
    /// win, loss and tie counts per objective of the stored pairs that name those completions. A completion served
    /// by a mixture counts for each version in it. Rows whose JSON cannot be read are left out.
    public func adapterVersionQuality(name: String? = nil) async throws -> [AdapterVersionKey: AdapterVersionQuality] {
        try await database.read { db in
            var result: [AdapterVersionKey: AdapterVersionQuality] = [:]
            // A malformed `adapters` column counts as no adapters instead of failing the whole query.
            let usage = try Row.fetchCursor(db, sql: """
                SELECT json_extract(a.value, '$.name') AS name, json_extract(a.value, '$.version') AS version,
                       COUNT(*) AS completions, COALESCE(SUM(c.completion_tokens), 0) AS tokens
                FROM completion c
                JOIN json_each(CASE WHEN json_valid(c.adapters) THEN c.adapters ELSE '[]' END) a
                WHERE json_type(a.value) = 'object' AND (?1 IS NULL OR json_extract(a.value, '$.name') = ?1)
                GROUP BY 1, 2
                """, arguments: [name])
            while let row = try usage.next() {
                guard let adapter = row["name"] as String?, let version = row["version"] as Int? else { continue }
                let key = AdapterVersionKey(name: adapter, version: version)
                result[key, default: AdapterVersionQuality()].completions += row["completions"] as Int? ?? 0
                result[key, default: AdapterVersionQuality()].completionTokens += row["tokens"] as Int? ?? 0
            }
            let pairs = try Row.fetchCursor(db, sql: """
                SELECT p.labels, c1.adapters AS chosen, c2.adapters AS rejected
                FROM preference_pair p
                LEFT JOIN completion c1 ON c1.id = p.chosen_id
                LEFT JOIN completion c2 ON c2.id = p.rejected_id
                WHERE c1.id IS NOT NULL OR c2.id IS NOT NULL
                """)
            let decoder = JSONDecoder()
            while let row = try pairs.next() {
                AdapterVersionQuality.count(pairLabels: row["labels"], chosenAdapters: row["chosen"],
                                            rejectedAdapters: row["rejected"], named: name, decoder: decoder, into: &result)
            }
            return result
        }
    }
}
