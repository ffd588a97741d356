import Foundation
internal import GRDB

extension FeedbackStore {
    /// Records a version. If it is `active`, the other versions of its name become inactive in the same
    /// transaction. Throws `duplicateAdapterVersion` for a known name and version, `unknownJob` for a
    /// `jobID` the store does not have.
    public func recordAdapterVersion(_ record: AdapterVersionRecord) async throws {
        var record = record
        record.created = record.created.asStored
        try await database.write { [record] db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM adapter_version WHERE name = ? AND version = ?",
                                 arguments: [record.name, record.version]) == true {
                throw FeedbackError.duplicateAdapterVersion(name: record.name, version: record.version)
            }
            if let jobID = record.jobID,
               try Bool.fetchOne(db, sql: "SELECT 1 FROM realign_job WHERE id = ?", arguments: [jobID]) != true {
                throw FeedbackError.unknownJob(id: jobID)
            }
            if record.active {
                try db.execute(sql: "UPDATE adapter_version SET active = 0 WHERE name = ?", arguments: [record.name])
            }
            try db.execute(sql: """
                INSERT INTO adapter_version (name, version, path, sha256, objectives, weights, method, job_id, created, active)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [record.name, record.version, record.path, record.sha256, try JSONColumn.text(record.objectives),
                                 try JSONColumn.text(record.weights), record.method, record.jobID, record.created, record.active])
        }
    }

    /// Every version, or those of `name`, by name then version.
    public func adapterVersions(name: String? = nil) async throws -> [AdapterVersionRecord] {
        try await database.read { db in
            let rows = if let name {
                try Row.fetchAll(db, sql: "SELECT * FROM adapter_version WHERE name = ? ORDER BY version", arguments: [name])
            } else {
                try Row.fetchAll(db, sql: "SELECT * FROM adapter_version ORDER BY name, version")
            }
            return try rows.map(AdapterVersionRecord.init(row:))
        }
    }

    /// The version to serve for each name that has one, by name.
    public func activeAdapters() async throws -> [AdapterVersionRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM adapter_version WHERE active = 1 ORDER BY name")
                .map(AdapterVersionRecord.init(row:))
        }
    }

    /// The highest version recorded for `name`, or nil (the next one is this + 1).
    public func latestAdapterVersion(name: String) async throws -> Int? {
        try await database.read { db in
            try Int.fetchOne(db, sql: "SELECT MAX(version) FROM adapter_version WHERE name = ?", arguments: [name])
        }
    }

    /// Makes `versions` active and every other version of their names inactive, in one transaction: after a
    /// crash either the old set or the new set is active, never a mix. Returns the promoted records.
    @discardableResult
    public func promote(_ versions: [AdapterVersionKey]) async throws -> [AdapterVersionRecord] {
        var seen = Set<String>()
        for key in versions where !seen.insert(key.name).inserted {
            throw FeedbackError.conflictingPromotion(name: key.name)
        }
        return try await database.write { db in try Self.promote(db, versions) }
    }

    /// Promotes every version that job `jobID` recorded.
    @discardableResult
    public func promote(job jobID: String) async throws -> [AdapterVersionRecord] {
        try await database.write { db in
            _ = try Self.fetchJob(db, id: jobID)
            let rows = try Row.fetchAll(db, sql: "SELECT name, version FROM adapter_version WHERE job_id = ? ORDER BY name, version",
                                        arguments: [jobID])
            guard !rows.isEmpty else { throw FeedbackError.noAdapterVersions(jobID: jobID) }
            let keys = try rows.map { AdapterVersionKey(name: try $0.decode(forColumn: "name"), version: try $0.decode(forColumn: "version")) }
            var seen = Set<String>()
            for key in keys where !seen.insert(key.name).inserted {
                throw FeedbackError.conflictingPromotion(name: key.name)
            }
            return try Self.promote(db, keys)
        }
    }

    private static func promote(_ db: Database, _ versions: [AdapterVersionKey]) throws -> [AdapterVersionRecord] {
        for key in versions {
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM adapter_version WHERE name = ? AND version = ?",
                                 arguments: [key.name, key.version]) != true {
                throw FeedbackError.unknownAdapterVersion(name: key.name, version: key.version)
            }
        }
        // Deactivate first: the one-active-per-name index is checked after each statement.
        for key in versions {
            try db.execute(sql: "UPDATE adapter_version SET active = 0 WHERE name = ? AND active = 1", arguments: [key.name])
            try db.execute(sql: "UPDATE adapter_version SET active = 1 WHERE name = ? AND version = ?",
                           arguments: [key.name, key.version])
        }
        return try versions.map { key in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM adapter_version WHERE name = ? AND version = ?",
                                             arguments: [key.name, key.version]) else {
                throw FeedbackError.unknownAdapterVersion(name: key.name, version: key.version)
            }
            return try AdapterVersionRecord(row: row)
        }
    }
}
