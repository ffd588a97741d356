import Foundation
import GRDB
import Testing
@testable import Feedback

@Suite struct DuplicatePairTests {
    let objectives = Fixtures.objectives

    @Test func theSamePairInEitherOrderIsADuplicate() async throws {
        let store = try FeedbackStore.temporary()
        let first = try await store.addFeedback(prompt: "p", chosen: "a", rejected: "b", labels: ["concise": 1], objectives: objectives)
        await #expect(throws: FeedbackError.duplicatePair(existingID: first.id)) {
            try await store.addFeedback(prompt: "p", chosen: "a", rejected: "b", labels: ["detailed": 1], objectives: objectives)
        }
        await #expect(throws: FeedbackError.duplicatePair(existingID: first.id)) {
            try await store.addFeedback(prompt: "p", chosen: "b", rejected: "a", labels: ["concise": 1], objectives: objectives)
        }
        // Another prompt with the same texts is a different pair.
        _ = try await store.addFeedback(prompt: "q", chosen: "a", rejected: "b", labels: ["concise": 1], objectives: objectives)
        #expect(try await store.feedbackCount() == 2)
    }

    @Test func idAndTextFormsOfOnePairAreDuplicates() async throws {
        let store = try await Fixtures.storeWithTwoCompletions()
        let byIDs = try await store.addFeedback(chosenID: "cmpl-b", rejectedID: "cmpl-a", labels: ["detailed": 1], objectives: objectives)
        await #expect(throws: FeedbackError.duplicatePair(existingID: byIDs.id)) {
            try await store.addFeedback(chosenID: "cmpl-a", rejectedID: "cmpl-b", labels: ["concise": 1], objectives: objectives)
        }
        await #expect(throws: FeedbackError.duplicatePair(existingID: byIDs.id)) {
            try await store.addFeedback(prompt: byIDs.prompt, chosen: byIDs.rejected, rejected: byIDs.chosen,
                                        labels: ["concise": 1], objectives: objectives)
        }
    }

    /// Two stores on one file have two writer connections, so SQLite's locking and the unique index, not
    /// the pool's serial writer, decide.
    @Test func concurrentDuplicateInsertsLetExactlyOneWin() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let stores = [try FeedbackStore(path: directory.path("feedback.sqlite")),
                      try FeedbackStore(path: directory.path("feedback.sqlite"))]
        let store = stores[0]
        let attempts = 16
        let results = await withTaskGroup(of: Result<String, FeedbackError>.self) { group in
            for index in 0..<attempts {
                group.addTask {
                    do {
                        // Half the tasks send the mirror image.
                        let (chosen, rejected) = index.isMultiple(of: 2) ? ("short", "a long answer") : ("a long answer", "short")
                        let pair = try await stores[index % 4 / 2].addFeedback(prompt: "race", chosen: chosen, rejected: rejected,
                                                               labels: ["concise": 1], objectives: Fixtures.objectives)
                        return .success(pair.id)
                    } catch let error as FeedbackError {
                        return .failure(error)
                    } catch {
                        return .failure(.unknownCursor("unexpected \(error)"))
                    }
                }
            }
            var all: [Result<String, FeedbackError>] = []
            for await result in group { all.append(result) }
            return all
        }
        let winners = results.compactMap { try? $0.get() }
        #expect(winners.count == 1)
        for result in results {
            if case .failure(let error) = result { #expect(error == .duplicatePair(existingID: winners.first ?? "")) }
        }
        #expect(try await store.feedbackCount() == 1)
    }

    @Test func theUniqueIndexHoldsEvenWithoutTheStoresCheck() async throws {
        let store = try FeedbackStore.temporary()
        _ = try await store.addFeedback(prompt: "p", chosen: "a", rejected: "b", labels: ["concise": 1], objectives: objectives)
        // The texts as the store keeps them, UTF-8 BLOBs: 'p', 'b', 'a'.
        await #expect {
            try await store.database.write { db in
                try db.execute(sql: """
                    INSERT INTO preference_pair (id, created, prompt, chosen, rejected, labels)
                    VALUES ('fb-raw', '2026-01-01 00:00:00.000', x'70', x'62', x'61', '{"concise":1}')
                    """)
            }
        } throws: { error in
            (error as? DatabaseError)?.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE
        }
    }
}
