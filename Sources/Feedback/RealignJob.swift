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

    init(row: Row) throws {
        let id: String = try row.decode(forColumn: "id")
        let stateName: String = try row.decode(forColumn: "state")
        guard let state = RealignJobState(rawValue: stateName) else {
            throw FeedbackStoreError.corruptRow(table: Self.table, key: id, reason: "unknown state \(stateName)")
        }
        self.init(
            id: id,
            state: state,
            created: try row.decode(forColumn: "created"),
            started: try row.decode(forColumn: "started"),
            finished: try row.decode(forColumn: "finished"),
            request: try JSONColumn.decode(JSONValue.self, from: row, column: "request", table: Self.table, key: id),
            progress: try JSONColumn.decodeIfPresent(JSONValue.self, from: row, column: "progress", table: Self.table, key: id),
            report: try JSONColumn.decodeIfPresent(JSONValue.self, from: row, column: "report", table: Self.table, key: id),
            error: try row.decode(forColumn: "error"),
            pairsUsed: try row.decode(forColumn: "pairs_used"),
            feedbackThroughSequence: try row.decode(forColumn: "feedback_through_seq"))
    }
}
