import Foundation
import Testing
@testable import Feedback

/// Deleting on request and by retention removes what it names and nothing else.
@Suite struct DeletionTests {
    private static let day: TimeInterval = 86_400

    private static func completion(_ id: String, text: String, daysAgo: Double, now: Date) -> CompletionRecord {
        var record = Fixtures.completion(id: id, text: text)
        record.created = now.addingTimeInterval(-daysAgo * day)
        return record
    }

    @Test(arguments: Backend.allCases) func deletingACompletionTakesThePairsThatQuoteItAndNothingElse(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let now = Date()
        try await store.recordCompletions([Self.completion("a", text: "one", daysAgo: 0, now: now),
                                           Self.completion("b", text: "two", daysAgo: 0, now: now),
                                           Self.completion("c", text: "three", daysAgo: 0, now: now)])
        let ab = try await store.addFeedback(chosenID: "a", rejectedID: "b", labels: ["concise": 1], objectives: ["concise"])
        let bc = try await store.addFeedback(chosenID: "c", rejectedID: "b", labels: ["concise": 1], objectives: ["concise"])
        let texts = try await store.addFeedback(prompt: "p", chosen: "x", rejected: "y", labels: ["concise": 1], objectives: ["concise"])

        #expect(try await store.deleteCompletion(id: "a") == [ab.id])
        #expect(try await store.completion(id: "a") == nil)
        #expect(try await store.preference(id: ab.id) == nil)
        #expect(try await store.preference(id: bc.id) == bc)
        #expect(try await store.preference(id: texts.id) == texts)
        #expect(try await store.completion(id: "b") != nil)
        #expect(try await store.deleteCompletion(id: "a") == nil)
        #expect(try await store.deleteCompletion(id: "b") == [bc.id])
        #expect(try await store.feedbackCount() == 1)
    }

    @Test(arguments: Backend.allCases) func deletingAPairKeepsItsCompletions(_ backend: Backend) async throws {
        let store = try await Fixtures.storeWithTwoCompletions(backend)
        let pair = try await store.addFeedback(chosenID: "cmpl-a", rejectedID: "cmpl-b", labels: ["concise": 1], objectives: ["concise"])
        #expect(try await store.deleteFeedback(id: pair.id))
        #expect(try await store.deleteFeedback(id: pair.id) == false)
        #expect(try await store.preference(id: pair.id) == nil)
        #expect(try await store.completionCount() == 2)
    }

    @Test(arguments: Backend.allCases) func retentionDeletesOnlyOldCompletionsWithoutFeedback(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        try await store.recordCompletions([Self.completion("old-alone", text: "1", daysAgo: 31, now: now),
                                           Self.completion("old-voted-a", text: "2", daysAgo: 40, now: now),
                                           Self.completion("old-voted-b", text: "3", daysAgo: 40, now: now),
                                           Self.completion("recent", text: "4", daysAgo: 29, now: now)])
        _ = try await store.addFeedback(chosenID: "old-voted-a", rejectedID: "old-voted-b", labels: ["concise": 1],
                                        objectives: ["concise"])
        let cutoff = now.addingTimeInterval(-30 * Self.day)
        #expect(try await store.deleteCompletionsWithoutFeedback(createdBefore: cutoff) == 1)
        #expect(try await store.completion(id: "old-alone") == nil)
        for kept in ["old-voted-a", "old-voted-b", "recent"] { #expect(try await store.completion(id: kept) != nil) }
        #expect(try await store.deleteCompletionsWithoutFeedback(createdBefore: cutoff) == 0)
    }
}
