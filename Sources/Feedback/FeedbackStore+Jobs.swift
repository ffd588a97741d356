import Foundation
internal import GRDB

extension FeedbackStore {
    /// The error a job gets when the server finds it queued or running at start.
    public static let interruptedJobMessage = "interrupted by a server restart"

    /// Creates a queued job. Throws `jobAlreadyActive(id)` if a job is queued or running; the check and the
    /// insert share one write transaction, and a partial unique index backs it.
    public func createJob(request: JSONValue) async throws -> RealignJob {
        try await database.write { db in
            if let active = try String.fetchOne(db, sql: "SELECT id FROM realign_job WHERE state IN ('queued', 'running')") {
                throw FeedbackError.jobAlreadyActive(id: active)
            }
            let job = RealignJob(id: RandomID.make(prefix: "job-"), state: .queued, created: Date().asStored,
                                 request: request)
            try db.execute(sql: "INSERT INTO realign_job (id, state, created, request) VALUES (?, ?, ?, ?)",
                           arguments: [job.id, job.state.rawValue, job.created, try request.jsonText()])
            return job
        }
    }

    /// queued → running. The data the job trains on may be recorded now or at `finish`.
    @discardableResult
    public func markRunning(_ id: String, pairsUsed: Int? = nil,
                            feedbackThroughSequence: Int64? = nil) async throws -> RealignJob {
        try await database.write { db in
            let job = try Self.fetchJob(db, id: id)
            guard job.state == .queued else {
                throw FeedbackError.jobStateConflict(id: id, state: job.state, action: "mark it running")
            }
            try db.execute(sql: """
                UPDATE realign_job SET state = 'running', started = ?,
                    pairs_used = coalesce(?, pairs_used), feedback_through_seq = coalesce(?, feedback_through_seq)
                WHERE id = ?
                """, arguments: [Date().asStored, pairsUsed, feedbackThroughSequence, id])
            return try Self.fetchJob(db, id: id)
        }
    }

    /// Replaces a running job's progress.
    public func updateProgress(_ id: String, progress: JSONValue) async throws {
        try await database.write { db in
            let job = try Self.fetchJob(db, id: id)
            guard job.state == .running else {
                throw FeedbackError.jobStateConflict(id: id, state: job.state, action: "update its progress")
            }
            try db.execute(sql: "UPDATE realign_job SET progress = ? WHERE id = ?", arguments: [try progress.jsonText(), id])
        }
    }

    /// Ends a queued or running job in a final state. nil arguments keep what is stored.
    @discardableResult
    public func finish(_ id: String, state: RealignJobState, report: JSONValue? = nil, error: String? = nil,
                       pairsUsed: Int? = nil) async throws -> RealignJob {
        guard state.isFinal else { throw FeedbackError.notAFinalState(state) }
        return try await database.write { db in
            let job = try Self.fetchJob(db, id: id)
            guard job.state.isActive else {
                throw FeedbackError.jobStateConflict(id: id, state: job.state, action: "finish it as \(state.rawValue)")
            }
            try db.execute(sql: """
                UPDATE realign_job SET state = ?, finished = ?, report = coalesce(?, report), error = coalesce(?, error),
                    pairs_used = coalesce(?, pairs_used)
                WHERE id = ?
                """, arguments: [state.rawValue, Date().asStored, try report?.jsonText(), error, pairsUsed, id])
            return try Self.fetchJob(db, id: id)
        }
    }

    /// The job with this id, or nil. Throws `FeedbackStoreError.corruptRow` if its row cannot be read.
    public func job(id: String) async throws -> RealignJob? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM realign_job WHERE id = ?", arguments: [id]).map(RealignJob.init(row:))
        }
    }

    /// The newest `limit` jobs, newest first. Throws `FeedbackStoreError.corruptRow` if one of them cannot be read;
    /// a listing shown to clients uses `jobPage(limit:)`, which skips such rows and reports them.
    public func jobs(limit: Int) async throws -> [RealignJob] {
        guard Self.pageSizes.contains(limit) else { throw FeedbackError.invalidLimit(limit, allowed: Self.pageSizes) }
        return try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM realign_job ORDER BY seq DESC LIMIT ?", arguments: [limit])
                .map(RealignJob.init(row:))
        }
    }

    /// The newest `limit` jobs, newest first, for a listing: a row that cannot be read (a JSON column edited
    /// outside the server, say) does not fail the listing; it is left out and returned in `skipped`.
    public func jobPage(limit: Int) async throws -> RealignJobPage {
        guard Self.pageSizes.contains(limit) else { throw FeedbackError.invalidLimit(limit, allowed: Self.pageSizes) }
        return try await database.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM realign_job ORDER BY seq DESC LIMIT ?", arguments: [limit])
            let (jobs, skipped) = try SkippedRow.partition(rows, RealignJob.init(row:))
            return RealignJobPage(jobs: jobs, skipped: skipped)
        }
    }

    /// The queued or running job, if any.
    public func activeJob() async throws -> RealignJob? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM realign_job WHERE state IN ('queued', 'running')")
                .map(RealignJob.init(row:))
        }
    }

    /// The newest job that succeeded, if any (its `feedbackThroughSequence` is where a policy counts from).
    public func lastSucceededJob() async throws -> RealignJob? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM realign_job WHERE state = 'succeeded' ORDER BY seq DESC LIMIT 1")
                .map(RealignJob.init(row:))
        }
    }

    /// Called once at server start, before any job is created: every queued or running job belongs to a
    /// process that is gone, so it becomes failed with `interruptedJobMessage`. Returns their ids.
    @discardableResult
    public func failInterruptedJobs() async throws -> [String] {
        try await database.write { db in
            let ids = try String.fetchAll(db, sql: "SELECT id FROM realign_job WHERE state IN ('queued', 'running') ORDER BY seq")
            try db.execute(sql: """
                UPDATE realign_job SET state = 'failed', finished = ?, error = ? WHERE state IN ('queued', 'running')
                """, arguments: [Date().asStored, Self.interruptedJobMessage])
            return ids
        }
    }

    static func fetchJob(_ db: Database, id: String) throws -> RealignJob {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM realign_job WHERE id = ?", arguments: [id]) else {
            throw FeedbackError.unknownJob(id: id)
        }
        return try RealignJob(row: row)
    }
}
