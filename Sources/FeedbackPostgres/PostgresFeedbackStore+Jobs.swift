import Feedback
import Foundation
import PostgresNIO

/// Realignment jobs and adapter versions: the same rules and errors as FeedbackStore+Jobs and +Adapters.
extension PostgresFeedbackStore {
    public func createJob(request: JSONValue) async throws -> RealignJob {
        let logger = logger
        let requestText = try request.jsonText()
        return try await transaction(.write, uniqueViolation: {
            try await self.transaction(.read) { connection -> any Error in
                let active = try await connection.rows("SELECT id FROM realign_job WHERE state IN ('queued', 'running')", logger: logger)
                return FeedbackError.jobAlreadyActive(id: try active.first?["id"].decode(String.self) ?? "unknown")
            }
        }) { connection in
            if let active = try await connection.rows("SELECT id FROM realign_job WHERE state IN ('queued', 'running')",
                                                      logger: logger).first {
                throw FeedbackError.jobAlreadyActive(id: try active["id"].decode(String.self))
            }
            let job = RealignJob(id: StoreConventions.randomID(prefix: "job-"), state: .queued,
                                 created: StoreConventions.stored(Date()), request: request)
            try await connection.execute("""
                INSERT INTO realign_job (id, state, created, request)
                VALUES (\(job.id), \(job.state.rawValue), \(PostgresColumns.dateText(job.created))::timestamptz, \(requestText))
                """, logger: logger)
            return job
        }
    }

    @discardableResult
    public func markRunning(_ id: String, pairsUsed: Int?, feedbackThroughSequence: Int64?) async throws -> RealignJob {
        let now = PostgresColumns.dateText(StoreConventions.stored(Date()))
        return try await transaction(.write) { [logger] connection in
            let job = try await Self.fetchJob(connection, id: id, logger: logger)
            guard job.state == .queued else {
                throw FeedbackError.jobStateConflict(id: id, state: job.state, action: "mark it running")
            }
            try await connection.execute("""
                UPDATE realign_job SET state = 'running', started = \(now)::timestamptz,
                    pairs_used = coalesce(\(pairsUsed)::bigint, pairs_used),
                    feedback_through_seq = coalesce(\(feedbackThroughSequence)::bigint, feedback_through_seq)
                WHERE id = \(id)
                """, logger: logger)
            return try await Self.fetchJob(connection, id: id, logger: logger)
        }
    }

    public func updateProgress(_ id: String, progress: JSONValue) async throws {
        let progressText = try progress.jsonText()
        try await transaction(.write) { [logger] connection in
            let job = try await Self.fetchJob(connection, id: id, logger: logger)
            guard job.state == .running else {
                throw FeedbackError.jobStateConflict(id: id, state: job.state, action: "update its progress")
            }
            try await connection.execute("UPDATE realign_job SET progress = \(progressText) WHERE id = \(id)", logger: logger)
        }
    }

    @discardableResult
    public func finish(_ id: String, state: RealignJobState, report: JSONValue?, error: String?,
                       pairsUsed: Int?) async throws -> RealignJob {
        guard state.isFinal else { throw FeedbackError.notAFinalState(state) }
        let reportText = try report?.jsonText()
        let now = PostgresColumns.dateText(StoreConventions.stored(Date()))
        return try await transaction(.write) { [logger] connection in
            let job = try await Self.fetchJob(connection, id: id, logger: logger)
            guard job.state.isActive else {
                throw FeedbackError.jobStateConflict(id: id, state: job.state, action: "finish it as \(state.rawValue)")
            }
            try await connection.execute("""
                UPDATE realign_job SET state = \(state.rawValue), finished = \(now)::timestamptz,
                    report = coalesce(\(reportText)::text, report), error = coalesce(\(error)::text, error),
                    pairs_used = coalesce(\(pairsUsed)::bigint, pairs_used)
                WHERE id = \(id)
                """, logger: logger)
            return try await Self.fetchJob(connection, id: id, logger: logger)
        }
    }

    public func job(id: String) async throws -> RealignJob? {
        try await transaction(.read) { [logger] connection in
            try await connection.rows("SELECT \(unescaped: PostgresColumns.job) FROM realign_job WHERE id = \(id)", logger: logger)
                .first.map(RealignJob.init(postgres:))
        }
    }

    public func jobs(limit: Int) async throws -> [RealignJob] {
        guard FeedbackStore.pageSizes.contains(limit) else { throw FeedbackError.invalidLimit(limit, allowed: FeedbackStore.pageSizes) }
        return try await transaction(.read) { [logger] connection in
            try await connection.rows("SELECT \(unescaped: PostgresColumns.job) FROM realign_job ORDER BY seq DESC LIMIT \(limit)",
                                      logger: logger).map(RealignJob.init(postgres:))
        }
    }

    public func jobPage(limit: Int) async throws -> RealignJobPage {
        guard FeedbackStore.pageSizes.contains(limit) else { throw FeedbackError.invalidLimit(limit, allowed: FeedbackStore.pageSizes) }
        return try await transaction(.read) { [logger] connection in
            let rows = try await connection.rows("""
                SELECT \(unescaped: PostgresColumns.job) FROM realign_job ORDER BY seq DESC LIMIT \(limit)
                """, logger: logger)
            let (jobs, skipped) = try rows.partitioned(RealignJob.init(postgres:))
            return RealignJobPage.make(jobs: jobs, skipped: skipped)
        }
    }

    public func activeJob() async throws -> RealignJob? {
        try await transaction(.read) { [logger] connection in
            try await connection.rows("""
                SELECT \(unescaped: PostgresColumns.job) FROM realign_job WHERE state IN ('queued', 'running')
                """, logger: logger).first.map(RealignJob.init(postgres:))
        }
    }

    public func lastSucceededJob() async throws -> RealignJob? {
        try await transaction(.read) { [logger] connection in
            try await connection.rows("""
                SELECT \(unescaped: PostgresColumns.job) FROM realign_job WHERE state = 'succeeded' ORDER BY seq DESC LIMIT 1
                """, logger: logger).first.map(RealignJob.init(postgres:))
        }
    }

    /// As in the SQLite store: called once at start, it fails every queued or running job. With several replicas
    /// on one database that would also fail a job another replica is running; claiming jobs with a lease
    /// (issue 24, item 4) replaces it there.
    @discardableResult
    public func failInterruptedJobs() async throws -> [String] {
        let now = PostgresColumns.dateText(StoreConventions.stored(Date()))
        let message = FeedbackStore.interruptedJobMessage
        return try await transaction(.write) { [logger] connection in
            try await connection.rows("""
                UPDATE realign_job SET state = 'failed', finished = \(now)::timestamptz, error = \(message)
                WHERE state IN ('queued', 'running') RETURNING seq, id
                """, logger: logger)
                .map { (try $0["seq"].decode(Int64.self), try $0["id"].decode(String.self)) }
                .sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    static func fetchJob(_ connection: PostgresConnection, id: String, logger: Logger) async throws -> RealignJob {
        guard let row = try await connection.rows("SELECT \(unescaped: PostgresColumns.job) FROM realign_job WHERE id = \(id)",
                                                  logger: logger).first else {
            throw FeedbackError.unknownJob(id: id)
        }
        return try RealignJob(postgres: row)
    }

    // MARK: Adapter versions

    public func recordAdapterVersion(_ record: AdapterVersionRecord) async throws {
        let logger = logger
        let objectives = try StoreConventions.jsonText(record.objectives)
        let weights = try StoreConventions.jsonText(record.weights)
        let created = PostgresColumns.dateText(StoreConventions.stored(record.created))
        try await transaction(.write, uniqueViolation: {
            FeedbackError.duplicateAdapterVersion(name: record.name, version: record.version)
        }) { connection in
            if try await !connection.rows("""
                SELECT 1 FROM adapter_version WHERE name = \(record.name) AND version = \(record.version)
                """, logger: logger).isEmpty {
                throw FeedbackError.duplicateAdapterVersion(name: record.name, version: record.version)
            }
            if let jobID = record.jobID,
               try await connection.rows("SELECT 1 FROM realign_job WHERE id = \(jobID)", logger: logger).isEmpty {
                throw FeedbackError.unknownJob(id: jobID)
            }
            if record.active {
                try await connection.execute("UPDATE adapter_version SET active = false WHERE name = \(record.name)", logger: logger)
            }
            try await connection.execute("""
                INSERT INTO adapter_version (name, version, path, sha256, objectives, weights, method, job_id, created, active)
                VALUES (\(record.name), \(record.version), \(record.path), \(record.sha256), \(objectives), \(weights), \(record.method),
                        \(record.jobID), \(created)::timestamptz, \(record.active))
                """, logger: logger)
        }
    }

    public func adapterVersions(name: String?) async throws -> [AdapterVersionRecord] {
        try await transaction(.read) { [logger] connection in
            let rows = if let name {
                try await connection.rows("""
                    SELECT \(unescaped: PostgresColumns.adapterVersion) FROM adapter_version WHERE name = \(name) ORDER BY version
                    """, logger: logger)
            } else {
                try await connection.rows("""
                    SELECT \(unescaped: PostgresColumns.adapterVersion) FROM adapter_version ORDER BY name COLLATE "C", version
                    """, logger: logger)
            }
            return try rows.map(AdapterVersionRecord.init(postgres:))
        }
    }

    public func activeAdapters() async throws -> [AdapterVersionRecord] {
        try await transaction(.read) { [logger] connection in
            try await connection.rows("""
                SELECT \(unescaped: PostgresColumns.adapterVersion) FROM adapter_version WHERE active ORDER BY name COLLATE "C"
                """, logger: logger).map(AdapterVersionRecord.init(postgres:))
        }
    }

    public func latestAdapterVersion(name: String) async throws -> Int? {
        try await transaction(.read) { [logger] connection in
            guard let row = try await connection.rows("SELECT max(version) AS latest FROM adapter_version WHERE name = \(name)",
                                                      logger: logger).first else { return nil }
            return try PostgresStoredRow(row, table: "adapter_version", key: name).optionalInt("latest")
        }
    }

    @discardableResult
    public func promote(_ versions: [AdapterVersionKey]) async throws -> [AdapterVersionRecord] {
        var seen = Set<String>()
        for key in versions where !seen.insert(key.name).inserted {
            throw FeedbackError.conflictingPromotion(name: key.name)
        }
        return try await transaction(.write) { [logger] connection in
            try await Self.promote(connection, versions, logger: logger)
        }
    }

    @discardableResult
    public func promote(job jobID: String) async throws -> [AdapterVersionRecord] {
        try await transaction(.write) { [logger] connection in
            _ = try await Self.fetchJob(connection, id: jobID, logger: logger)
            let keys = try await connection.rows("""
                SELECT name, version FROM adapter_version WHERE job_id = \(jobID) ORDER BY name COLLATE "C", version
                """, logger: logger).map { row in
                let stored = PostgresStoredRow(row, table: "adapter_version", key: jobID)
                return AdapterVersionKey(name: try stored.value("name"), version: try stored.int("version"))
            }
            guard !keys.isEmpty else { throw FeedbackError.noAdapterVersions(jobID: jobID) }
            var seen = Set<String>()
            for key in keys where !seen.insert(key.name).inserted {
                throw FeedbackError.conflictingPromotion(name: key.name)
            }
            return try await Self.promote(connection, keys, logger: logger)
        }
    }

    private static func promote(_ connection: PostgresConnection, _ versions: [AdapterVersionKey],
                                logger: Logger) async throws -> [AdapterVersionRecord] {
        for key in versions {
            if try await connection.rows("SELECT 1 FROM adapter_version WHERE name = \(key.name) AND version = \(key.version)",
                                         logger: logger).isEmpty {
                throw FeedbackError.unknownAdapterVersion(name: key.name, version: key.version)
            }
        }
        // Deactivate first: the one-active-per-name index is checked after each statement.
        for key in versions {
            try await connection.execute("UPDATE adapter_version SET active = false WHERE name = \(key.name) AND active", logger: logger)
            try await connection.execute("""
                UPDATE adapter_version SET active = true WHERE name = \(key.name) AND version = \(key.version)
                """, logger: logger)
        }
        var promoted: [AdapterVersionRecord] = []
        for key in versions {
            guard let row = try await connection.rows("""
                SELECT \(unescaped: PostgresColumns.adapterVersion) FROM adapter_version
                WHERE name = \(key.name) AND version = \(key.version)
                """, logger: logger).first else {
                throw FeedbackError.unknownAdapterVersion(name: key.name, version: key.version)
            }
            promoted.append(try AdapterVersionRecord(postgres: row))
        }
        return promoted
    }
}
