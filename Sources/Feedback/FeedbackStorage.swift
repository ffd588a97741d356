import Foundation

/// The feedback store's operations, whatever holds the data: `FeedbackStore` keeps it in one SQLite file,
/// `PostgresFeedbackStore` (target FeedbackPostgres) in a PostgreSQL database that several replicas share
/// (docs/STORE.md). Both give every method the same meaning: each is one transaction, pairs are refused as
/// duplicates by a unique index, listings page in insertion order, and the same `FeedbackError`s come out for
/// the same requests. A store that cannot be reached throws `FeedbackStoreError.unavailable`.
///
/// The names and types are `FeedbackStore`'s, so code written against it moves to `any FeedbackStorage` as it is;
/// the shorter call forms (defaults) are in the extension below, since protocol requirements have no defaults.
public protocol FeedbackStorage: AnyObject, Sendable {
    /// Where the data is, for logs: a file path, or a URL without its password.
    var location: String { get }

    /// Migration names applied, oldest first; the same names on every backend.
    func appliedMigrations() async throws -> [String]

    // Completions (FeedbackStore+Completions.swift).
    func recordCompletions(_ records: [CompletionRecord]) async throws
    func completion(id: String) async throws -> CompletionRecord?
    func completionCount() async throws -> Int

    // Preference pairs (FeedbackStore+Preferences.swift).
    func addFeedback(chosenID: String, rejectedID: String, labels: [String: Int], objectives: [String],
                     user: String?, note: String?, keyID: String?) async throws -> PreferencePair
    func addFeedback(prompt: String, chosen: String, rejected: String, labels: [String: Int], objectives: [String],
                     user: String?, note: String?, keyID: String?) async throws -> PreferencePair
    func preference(id: String) async throws -> PreferencePair?
    func feedback(after cursor: String?, limit: Int, matching filter: FeedbackFilter) async throws -> FeedbackPage
    func allPreferences() async throws -> [PreferencePair]
    func preferences(afterSequence sequence: Int64) async throws -> [PreferencePair]
    func feedbackCount(matching filter: FeedbackFilter) async throws -> Int
    func feedbackCount() async throws -> Int
    func feedbackCount(afterSequence sequence: Int64) async throws -> Int
    func latestFeedbackSequence() async throws -> Int64

    // Export (FeedbackStore+Export.swift); the extension implements it from `feedback(after:limit:matching:)`.
    func exportJSONL() async throws -> FeedbackExport
    func exportJSONL(to handle: FileHandle) async throws -> [SkippedRow]
    func exportJSONLChunks(pageSize: Int) -> AsyncThrowingStream<ExportChunk, any Error>

    // Realignment jobs (FeedbackStore+Jobs.swift).
    func createJob(request: JSONValue) async throws -> RealignJob
    @discardableResult
    func markRunning(_ id: String, pairsUsed: Int?, feedbackThroughSequence: Int64?) async throws -> RealignJob
    func updateProgress(_ id: String, progress: JSONValue) async throws
    @discardableResult
    func finish(_ id: String, state: RealignJobState, report: JSONValue?, error: String?, pairsUsed: Int?) async throws -> RealignJob
    func job(id: String) async throws -> RealignJob?
    func jobs(limit: Int) async throws -> [RealignJob]
    func jobPage(limit: Int) async throws -> RealignJobPage
    func activeJob() async throws -> RealignJob?
    func lastSucceededJob() async throws -> RealignJob?
    @discardableResult
    func failInterruptedJobs() async throws -> [String]

    // Adapter versions (FeedbackStore+Adapters.swift).
    func recordAdapterVersion(_ record: AdapterVersionRecord) async throws
    func adapterVersions(name: String?) async throws -> [AdapterVersionRecord]
    func activeAdapters() async throws -> [AdapterVersionRecord]
    func latestAdapterVersion(name: String) async throws -> Int?
    @discardableResult
    func promote(_ versions: [AdapterVersionKey]) async throws -> [AdapterVersionRecord]
    @discardableResult
    func promote(job jobID: String) async throws -> [AdapterVersionRecord]

    // Adapter version history (FeedbackStore+VersionHistory.swift).
    @discardableResult
    func activateAdapterVersion(name: String, version: Int) async throws -> AdapterVersionRecord
    func markAdapterVersionsPruned(name: String, versions: [Int]) async throws
    func updateAdapterVersionPath(name: String, version: Int, path: String) async throws
    func adapterVersionQuality(name: String?) async throws -> [AdapterVersionKey: AdapterVersionQuality]

    // Deletion and retention (FeedbackStore+Deletion.swift, docs/PRIVACY.md).
    func deleteCompletion(id: String) async throws -> [String]?
    func deleteFeedback(id: String) async throws -> Bool
    func deleteCompletionsWithoutFeedback(createdBefore cutoff: Date) async throws -> Int
}

/// The call forms with defaults that `FeedbackStore`'s methods have.
extension FeedbackStorage {
    public func addFeedback(chosenID: String, rejectedID: String, labels: [String: Int], objectives: [String],
                            user: String? = nil, note: String? = nil) async throws -> PreferencePair {
        try await addFeedback(chosenID: chosenID, rejectedID: rejectedID, labels: labels, objectives: objectives,
                              user: user, note: note, keyID: nil)
    }

    public func addFeedback(prompt: String, chosen: String, rejected: String, labels: [String: Int], objectives: [String],
                            user: String? = nil, note: String? = nil) async throws -> PreferencePair {
        try await addFeedback(prompt: prompt, chosen: chosen, rejected: rejected, labels: labels, objectives: objectives,
                              user: user, note: note, keyID: nil)
    }

    public func feedback(after cursor: String?, limit: Int) async throws -> FeedbackPage {
        try await feedback(after: cursor, limit: limit, matching: FeedbackFilter())
    }

    @discardableResult
    public func markRunning(_ id: String) async throws -> RealignJob {
        try await markRunning(id, pairsUsed: nil, feedbackThroughSequence: nil)
    }

    @discardableResult
    public func finish(_ id: String, state: RealignJobState, report: JSONValue? = nil, error: String? = nil) async throws -> RealignJob {
        try await finish(id, state: state, report: report, error: error, pairsUsed: nil)
    }

    public func adapterVersions() async throws -> [AdapterVersionRecord] {
        try await adapterVersions(name: nil)
    }

    public func adapterVersionQuality() async throws -> [AdapterVersionKey: AdapterVersionQuality] {
        try await adapterVersionQuality(name: nil)
    }
}

extension RealignJobPage {
    /// For other backends of `FeedbackStorage` (the memberwise initializer is internal).
    package static func make(jobs: [RealignJob], skipped: [SkippedRow]) -> RealignJobPage {
        RealignJobPage(jobs: jobs, skipped: skipped)
    }
}
