import Foundation
import Testing
@testable import Feedback

@Suite struct CompletionTests {
    @Test(arguments: Backend.allCases) func roundTripsEveryField(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let record = Fixtures.completion(id: "cmpl-1", text: "Owls hunt at night.")
        try await store.recordCompletions([record])
        #expect(try await store.completion(id: "cmpl-1") == record)
        #expect(try await store.completion(id: "cmpl-2") == nil)
    }

    @Test(arguments: Backend.allCases) func aBatchIsAllOrNothing(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        try await store.recordCompletions([Fixtures.completion(id: "cmpl-1", text: "one")])
        await #expect(throws: FeedbackError.duplicateCompletion(id: "cmpl-1")) {
            try await store.recordCompletions([Fixtures.completion(id: "cmpl-2", text: "two"),
                                               Fixtures.completion(id: "cmpl-1", text: "again")])
        }
        #expect(try await store.completion(id: "cmpl-2") == nil)
        #expect(try await store.completionCount() == 1)
    }

    @Test(arguments: Backend.allCases) func keepsAbsentOptionalsAndLargeSeeds(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        var record = Fixtures.completion(id: "cmpl-1", text: "x")
        record.tradeoff = nil
        record.finishReason = nil
        record.adapters = []
        record.endpoint = .completions
        try await store.recordCompletions([record])
        let stored = try await store.completion(id: "cmpl-1")
        #expect(stored == record)
        #expect(stored?.sampling["seed"] == .unsignedInteger(UInt64.max))
    }
}
