import Foundation
import GRDB
import Testing
@testable import Feedback

/// Rows edited outside the server so that they no longer read: listings and the export skip and report them,
/// never fail or stop short; a single lookup is a clear `corruptRow` error; nothing traps (issue 16, item 7).
@Suite struct CorruptRowTests {
    /// Edits the store's file as another program would.
    static func edit(_ store: FeedbackStore, _ sql: String, _ arguments: StatementArguments = []) async throws {
        try await store.database.write { db in try db.execute(sql: sql, arguments: arguments) }
    }

    /// Nested far deeper than any parser's stack could follow by recursion.
    static let deeplyNested = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)

    /// Seven pairs, four of them corrupted in different ways: what a page and the export must do with them.
    static func storeWithCorruptPairs() async throws -> (FeedbackStore, pairs: [PreferencePair], corrupt: Set<String>) {
        let store = try FeedbackStore.temporary()
        var pairs: [PreferencePair] = []
        for index in 0..<7 { pairs.append(try await Fixtures.addTextPair(store, index)) }
        try await edit(store, "UPDATE preference_pair SET labels = '{oops' WHERE id = ?", [pairs[1].id])
        try await edit(store, "UPDATE preference_pair SET labels = ? WHERE id = ?", [deeplyNested, pairs[2].id])
        try await edit(store, "UPDATE preference_pair SET prompt = x'ff' WHERE id = ?", [pairs[4].id])
        try await edit(store, "UPDATE preference_pair SET created = 'yesterday' WHERE id = ?", [pairs[6].id])
        return (store, pairs, [pairs[1].id, pairs[2].id, pairs[4].id, pairs[6].id])
    }

    @Test func aPageSkipsAndReportsUnreadableRowsAndPagingGoesOnPastThem() async throws {
        let (store, pairs, corrupt) = try await Self.storeWithCorruptPairs()
        let readable = pairs.filter { !corrupt.contains($0.id) }

        let whole = try await store.feedback(after: nil, limit: 100)
        #expect(whole.pairs == readable)
        #expect(whole.skipped == [
            SkippedRow(table: "preference_pair", key: pairs[1].id, reason: "column labels is not valid JSON for Dictionary<String, Int>"),
            SkippedRow(table: "preference_pair", key: pairs[2].id, reason: "column labels is not valid JSON for Dictionary<String, Int>"),
            SkippedRow(table: "preference_pair", key: pairs[4].id, reason: "column prompt is not valid UTF-8"),
            SkippedRow(table: "preference_pair", key: pairs[6].id, reason: "column created does not hold a value of type Date"),
        ])
        #expect(whole.nextCursor == nil)
        #expect(whole.skipped[0].description == "Row \(pairs[1].id) of table preference_pair cannot be read: column labels is not valid JSON for Dictionary<String, Int>")

        // Pages of two rows: every row is either listed or skipped, once, and the cursor passes skipped rows.
        var listed: [PreferencePair] = [], skipped: [String] = [], cursor: String?, pages = 0
        repeat {
            let page = try await store.feedback(after: cursor, limit: 2)
            #expect(page.pairs.count + page.skipped.count == min(2, 7 - 2 * pages))
            listed += page.pairs
            skipped += page.skipped.map(\.key)
            cursor = page.nextCursor
            pages += 1
        } while cursor != nil
        #expect(pages == 4)
        #expect(listed == readable)
        #expect(skipped == pairs.map(\.id).filter(corrupt.contains))

        // A page made only of a skipped row still leads on.
        let onlyCorrupt = try await store.feedback(after: pairs[0].id, limit: 1)
        #expect(onlyCorrupt.pairs.isEmpty && onlyCorrupt.skipped.map(\.key) == [pairs[1].id])
        #expect(onlyCorrupt.nextCursor == pairs[1].id)
    }

    @Test func theExportContainsEveryOtherRowInFullAndReportsTheSkippedOnes() async throws {
        let (store, pairs, corrupt) = try await Self.storeWithCorruptPairs()
        let readable = pairs.filter { !corrupt.contains($0.id) }
        let expected = try readable.map { try $0.exportLine() + Data("\n".utf8) }.reduce(Data(), +)

        let export = try await store.exportJSONL()
        #expect(export.data == expected)
        #expect(export.skipped.map(\.key) == pairs.map(\.id).filter(corrupt.contains))

        for pageSize in [1, 2, 3, 500] {
            var lines = Data(), skipped: [SkippedRow] = []
            for try await chunk in store.exportJSONLChunks(pageSize: pageSize) {
                lines.append(chunk.lines)
                skipped += chunk.skipped
            }
            #expect(lines == expected, "page size \(pageSize)")
            #expect(skipped == export.skipped, "page size \(pageSize)")
        }

        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("export.jsonl")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let skippedToFile = try await store.exportJSONL(to: handle)
        try handle.close()
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == expected)
        #expect(skippedToFile == export.skipped)
    }

    @Test func aSingleLookupOrTheTrainingSetIsAClearError() async throws {
        let (store, pairs, _) = try await Self.storeWithCorruptPairs()
        await #expect(throws: FeedbackStoreError.corruptRow(table: "preference_pair", key: pairs[4].id,
                                                            reason: "column prompt is not valid UTF-8")) {
            try await store.preference(id: pairs[4].id)
        }
        #expect(try await store.preference(id: pairs[0].id) == pairs[0])
        // The trainer's read names the first bad row rather than training on fewer pairs than it says.
        await #expect(throws: FeedbackStoreError.corruptRow(table: "preference_pair", key: pairs[1].id,
                                                            reason: "column labels is not valid JSON for Dictionary<String, Int>")) {
            try await store.allPreferences()
        }
    }

    @Test func jobListingsSkipUnreadableJobsAndLookupsReportThem() async throws {
        let store = try FeedbackStore.temporary()
        var ids: [String] = []
        for index in 0..<4 {
            let job = try await store.createJob(request: .object(["index": .integer(Int64(index))]))
            try await store.finish(job.id, state: .succeeded, report: .object(["ok": .bool(true)]))
            ids.append(job.id)
        }
        try await Self.edit(store, "UPDATE realign_job SET report = '{oops' WHERE id = ?", [ids[1]])
        try await Self.edit(store, "UPDATE realign_job SET request = ? WHERE id = ?", [Self.deeplyNested, ids[2]])
        try await Self.edit(store, "UPDATE realign_job SET pairs_used = 1e300 WHERE id = ?", [ids[3]])

        let page = try await store.jobPage(limit: 10)
        #expect(page.jobs.map(\.id) == [ids[0]])
        #expect(page.skipped == [
            SkippedRow(table: "realign_job", key: ids[3], reason: "column pairs_used does not hold a value of type Int"),
            SkippedRow(table: "realign_job", key: ids[2], reason: "column request is not valid JSON for JSONValue"),
            SkippedRow(table: "realign_job", key: ids[1], reason: "column report is not valid JSON for JSONValue"),
        ])
        await #expect(throws: FeedbackError.invalidLimit(0, allowed: FeedbackStore.pageSizes)) { try await store.jobPage(limit: 0) }
        await #expect(throws: FeedbackStoreError.corruptRow(table: "realign_job", key: ids[1],
                                                            reason: "column report is not valid JSON for JSONValue")) {
            try await store.job(id: ids[1])
        }
        await #expect(throws: FeedbackStoreError.self) { try await store.jobs(limit: 10) }
        #expect(try await store.job(id: ids[0])?.report == .object(["ok": .bool(true)]))
    }

    @Test func completionsAndAdapterVersionsReportCorruptRows() async throws {
        let store = try FeedbackStore.temporary()
        try await store.recordCompletions([Fixtures.completion(id: "cmpl-1", text: "a"), Fixtures.completion(id: "cmpl-2", text: "b")])
        try await Self.edit(store, "UPDATE completion SET sampling = ? WHERE id = 'cmpl-1'", [Self.deeplyNested])
        try await Self.edit(store, "UPDATE completion SET text = x'c328' WHERE id = 'cmpl-2'")
        await #expect(throws: FeedbackStoreError.corruptRow(table: "completion", key: "cmpl-1",
                                                            reason: "column sampling is not valid JSON for JSONValue")) {
            try await store.completion(id: "cmpl-1")
        }
        await #expect(throws: FeedbackStoreError.corruptRow(table: "completion", key: "cmpl-2",
                                                            reason: "column text is not valid UTF-8")) {
            try await store.completion(id: "cmpl-2")
        }
        // Feedback naming a completion whose text cannot be read is refused with the same error, and stores nothing.
        try await store.recordCompletions([Fixtures.completion(id: "cmpl-3", text: "c")])
        await #expect(throws: FeedbackStoreError.corruptRow(table: "completion", key: "cmpl-2",
                                                            reason: "column text is not valid UTF-8")) {
            try await store.addFeedback(chosenID: "cmpl-3", rejectedID: "cmpl-2", labels: ["concise": 1], objectives: Fixtures.objectives)
        }
        #expect(try await store.feedbackCount() == 0)

        try await store.recordAdapterVersion(AdapterVersionRecord(name: "raco", version: 1, path: "/a.gguf", sha256: "00",
                                                                  objectives: ["concise"], weights: [1], method: "raco", active: true))
        try await Self.edit(store, "UPDATE adapter_version SET weights = '[1,' WHERE name = 'raco'")
        await #expect(throws: FeedbackStoreError.corruptRow(table: "adapter_version", key: "raco@1",
                                                            reason: "column weights is not valid JSON for Array<Double>")) {
            try await store.activeAdapters()
        }
    }
}
