import Foundation
internal import GRDB

public enum RealignJobState: String, Codable, Sendable, CaseIterable {
    case queued, running, succeeded, failed, cancelled

    /// Queued or running: at most one job is in such a state.
    public var isActive: Bool { self == .queued || self == .running }
    /// Succeeded, failed or cancelled: the job will not change again.
    public var isFinal: Bool { !isActive }
}

/// A realignment job as stored: its request, where it is, and what it produced.
public struct RealignJob: Codable, Sendable, Equatable {
    /// `job-` and 24 hex digits.
    public var id: String
    public var state: RealignJobState
    /// Stored with millisecond precision, like `started` and `finished`.
    public var created: Date
    public var started: Date?
    public var finished: Date?
    /// The request as the server accepted it (method, weights, steps, min_pairs, hyper-parameters).
    public var request: JSONValue
    /// The trainer's latest progress report (step, loss, …).
    public var progress: JSONValue?
    /// The final report (held-out accuracy per weight, promoted versions, …).
    public var report: JSONValue?
    /// Why the job failed, if it did.
    public var error: String?
    /// How many preference pairs the job trained and evaluated on.
    public var pairsUsed: Int?
    /// The newest pair's sequence number in the job's data: pairs after it are new for the next job.
    public var feedbackThroughSequence: Int64?

    public init(id: String, state: RealignJobState, created: Date, started: Date? = nil, finished: Date? = nil,
                request: JSONValue, progress: JSONValue? = nil, report: JSONValue? = nil, error: String? = nil,
                pairsUsed: Int? = nil, feedbackThroughSequence: Int64? = nil) {
        self.id = id
        self.state = state
        self.created = created
        self.started = started
        self.finished = finished
        self.request = request
        self.progress = progress
        self.report = report
        self.error = error
        self.pairsUsed = pairsUsed
        self.feedbackThroughSequence = feedbackThroughSequence
    }

    enum CodingKeys: String, CodingKey {
        case id, state, created, started, finished, request, progress, report, error
        case pairsUsed = "pairs_used"
        case feedbackThroughSequence = "feedback_through_seq"
    }
}

extension RealignJob {
    static let table = "realign_job"

    /// Throws `FeedbackStoreError.corruptRow` for a row that cannot be read.
    init(row: Row) throws {
        let stored = StoredRow(row, table: Self.table, keyColumn: "id", fallback: "(unreadable id)")
        let stateName: String = try stored.value("state")
        guard let state = RealignJobState(rawValue: stateName) else {
            throw stored.corrupt("unknown state \(stateName)")
        }
        self.init(
            id: try stored.value("id"),
            state: state,
            created: try stored.value("created"),
            started: try stored.value("started"),
            finished: try stored.value("finished"),
            request: try stored.json(JSONValue.self, "request"),
            progress: try stored.optionalJSON(JSONValue.self, "progress"),
            report: try stored.optionalJSON(JSONValue.self, "report"),
            error: try stored.value("error"),
            pairsUsed: try stored.value("pairs_used"),
            feedbackThroughSequence: try stored.value("feedback_through_seq"))
    }
}

/// The newest jobs, for a listing: the rows that could be read, and those that could not.
public struct RealignJobPage: Sendable, Equatable {
    /// Newest first.
    public var jobs: [RealignJob]
    /// Rows left out because they cannot be read (a column edited outside the server); the caller reports them.
    public var skipped: [SkippedRow]
}
