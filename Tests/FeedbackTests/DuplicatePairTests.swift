import Foundation
import Testing
@testable import Feedback

@Suite struct DuplicatePairTests {
    let objectives = Fixtures.objectives

    @Test(arguments: Backend.allCases) func theSamePairInEitherOrderIsADuplicate(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
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

    @Test(arguments: Backend.allCases) func idAndTextFormsOfOnePairAreDuplicates(_ backend: Backend) async throws {
        let store = try await Fixtures.storeWithTwoCompletions(backend)
        let byIDs = try await store.addFeedback(chosenID: "cmpl-b", rejectedID: "cmpl-a", labels: ["detailed": 1], objectives: objectives)
        await #expect(throws: FeedbackError.duplicatePair(existingID: byIDs.id)) {
            try await store.addFeedback(chosenID: "cmpl-a", rejectedID: "cmpl-b", labels: ["concise": 1], objectives: objectives)
        }
        await #expect(throws: FeedbackError.duplicatePair(existingID: byIDs.id)) {
            try await store.addFeedback(prompt: byIDs.prompt, chosen: byIDs.rejected, rejected: byIDs.chosen,
                                        labels: ["concise": 1], objectives: objectives)
        }
    }

    /// Two stores on one file (or database) have two writer connections, so the database's locking and the unique
    /// index, not one store's serial writer, decide.
    @Test(arguments: Backend.allCases) func concurrentDuplicateInsertsLetExactlyOneWin(_ backend: Backend) async throws {
        let location = try await backend.makeLocation()
        defer { location.remove() }
        let stores = [try await location.open(), try await location.open()]
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

    @Test(arguments: Backend.allCases) func theUniqueIndexHoldsEvenWithoutTheStoresCheck(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        _ = try await store.addFeedback(prompt: "p", chosen: "a", rejected: "b", labels: ["concise": 1], objectives: objectives)
        // The texts as the store keeps them, UTF-8 bytes: 'p', 'b', 'a' (the mirror image).
        await #expect {
            try await RawSQL.execute(store, """
                INSERT INTO preference_pair (id, created, prompt, chosen, rejected, labels)
                VALUES ('fb-raw', '2026-01-01 00:00:00.000', \(RawSQL.bytes(backend, "70")), \(RawSQL.bytes(backend, "62")),
                        \(RawSQL.bytes(backend, "61")), '{"concise":1}')
                """)
        } throws: { error in
            RawSQL.isUniqueViolation(error)
        }
        #expect(try await store.feedbackCount() == 1)
    }
}
