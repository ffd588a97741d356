import Foundation
import Testing
@testable import Feedback

@Suite struct PreferenceValidationTests {
    let objectives = Fixtures.objectives

    @Test(arguments: Backend.allCases) func storesAPairGivenByCompletionIDs(_ backend: Backend) async throws {
        let store = try await Fixtures.storeWithTwoCompletions(backend)
        let pair = try await store.addFeedback(chosenID: "cmpl-a", rejectedID: "cmpl-b", labels: ["concise": 1, "detailed": -1],
                                               objectives: objectives, user: "user-7", note: "shorter is better")
        #expect(pair.id.hasPrefix("fb-") && pair.id.count == 27)
        #expect(pair.prompt == "Tell me about owls.")
        #expect(pair.chosen == "Owls hunt at night.")
        #expect(pair.rejected.hasPrefix("Owls are nocturnal"))
        #expect(pair.chosenID == "cmpl-a" && pair.rejectedID == "cmpl-b")
        #expect(pair.sequence == 1)
        #expect(try await store.preference(id: pair.id) == pair)
    }

    @Test(arguments: Backend.allCases) func storesAPairGivenByTextsWithASubsetOfObjectivesAndTies(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let pair = try await store.addFeedback(prompt: "p", chosen: "a", rejected: "b", labels: ["detailed": 1],
                                               objectives: objectives)
        #expect(pair.chosenID == nil && pair.labels == ["detailed": 1])
        let tie = try await store.addFeedback(prompt: "p", chosen: "c", rejected: "d", labels: ["concise": 0, "detailed": -1],
                                              objectives: objectives)
        #expect(tie.labels == ["concise": 0, "detailed": -1])
        #expect(try await store.preference(id: tie.id) == tie)
    }

    @Test(arguments: Backend.allCases) func unknownCompletionNamesTheField(_ backend: Backend) async throws {
        let store = try await Fixtures.storeWithTwoCompletions(backend)
        let chosenMissing = FeedbackError.unknownCompletion(id: "cmpl-x", field: "chosen_id")
        await #expect(throws: chosenMissing) {
            try await store.addFeedback(chosenID: "cmpl-x", rejectedID: "cmpl-b", labels: ["concise": 1], objectives: objectives)
        }
        await #expect(throws: FeedbackError.unknownCompletion(id: "cmpl-y", field: "rejected_id")) {
            try await store.addFeedback(chosenID: "cmpl-a", rejectedID: "cmpl-y", labels: ["concise": 1], objectives: objectives)
        }
        #expect(chosenMissing.param == "chosen_id" && chosenMissing.kind == .notFound && chosenMissing.code == "unknown_completion")
        #expect(try await store.feedbackCount() == 0)
    }

    @Test(arguments: Backend.allCases) func sameCompletionTwice(_ backend: Backend) async throws {
        let store = try await Fixtures.storeWithTwoCompletions(backend)
        await #expect(throws: FeedbackError.sameCompletion(id: "cmpl-a")) {
            try await store.addFeedback(chosenID: "cmpl-a", rejectedID: "cmpl-a", labels: ["concise": 1], objectives: objectives)
        }
    }

    @Test(arguments: Backend.allCases) func completionsOfDifferentPrompts(_ backend: Backend) async throws {
        let store = try await Fixtures.storeWithTwoCompletions(backend)
        try await store.recordCompletions([Fixtures.completion(id: "cmpl-c", prompt: "Tell me about bats.", text: "Bats fly.")])
        let error = FeedbackError.differentPrompts(chosenID: "cmpl-a", rejectedID: "cmpl-c")
        await #expect(throws: error) {
            try await store.addFeedback(chosenID: "cmpl-a", rejectedID: "cmpl-c", labels: ["concise": 1], objectives: objectives)
        }
        #expect(error.param == "rejected_id" && error.kind == .invalidRequest)
    }

    @Test(arguments: Backend.allCases) func completionsWithEmptyOrIdenticalTexts(_ backend: Backend) async throws {
        let store = try await Fixtures.storeWithTwoCompletions(backend)
        try await store.recordCompletions([Fixtures.completion(id: "cmpl-empty", text: "  \n"),
                                           Fixtures.completion(id: "cmpl-a2", text: "Owls hunt at night.")])
        await #expect(throws: FeedbackError.emptyText(field: "rejected_id")) {
            try await store.addFeedback(chosenID: "cmpl-a", rejectedID: "cmpl-empty", labels: ["concise": 1], objectives: objectives)
        }
        await #expect(throws: FeedbackError.emptyText(field: "chosen_id")) {
            try await store.addFeedback(chosenID: "cmpl-empty", rejectedID: "cmpl-a", labels: ["concise": 1], objectives: objectives)
        }
        await #expect(throws: FeedbackError.identicalTexts(field: "rejected_id")) {
            try await store.addFeedback(chosenID: "cmpl-a", rejectedID: "cmpl-a2", labels: ["concise": 1], objectives: objectives)
        }
    }

    @Test(arguments: Backend.allCases) func labelRules(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        func add(_ labels: [String: Int]) async throws {
            _ = try await store.addFeedback(prompt: "p", chosen: "a", rejected: "b", labels: labels, objectives: objectives)
        }
        await #expect(throws: FeedbackError.missingLabels) { try await add([:]) }
        await #expect(throws: FeedbackError.noPreference) { try await add(["concise": 0, "detailed": 0]) }
        let unknown = FeedbackError.unknownObjective(name: "funny", configured: objectives)
        await #expect(throws: unknown) { try await add(["concise": 1, "funny": 1]) }
        #expect(unknown.param == "labels.funny")
        #expect(unknown.message.contains("'concise', 'detailed'"))
        let outOfRange = FeedbackError.invalidLabel(objective: "detailed", value: 2)
        await #expect(throws: outOfRange) { try await add(["concise": 1, "detailed": 2]) }
        await #expect(throws: FeedbackError.invalidLabel(objective: "concise", value: -5)) { try await add(["concise": -5]) }
        #expect(outOfRange.param == "labels.detailed" && outOfRange.code == "invalid_label")
        // Labels are checked for the id form too, before the ids are looked up.
        await #expect(throws: FeedbackError.missingLabels) {
            try await store.addFeedback(chosenID: "cmpl-x", rejectedID: "cmpl-y", labels: [:], objectives: objectives)
        }
        #expect(try await store.feedbackCount() == 0)
    }

    @Test(arguments: Backend.allCases) func emptyAndIdenticalTexts(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let labels = ["concise": 1]
        await #expect(throws: FeedbackError.emptyText(field: "prompt")) {
            try await store.addFeedback(prompt: " ", chosen: "a", rejected: "b", labels: labels, objectives: objectives)
        }
        await #expect(throws: FeedbackError.emptyText(field: "chosen")) {
            try await store.addFeedback(prompt: "p", chosen: "", rejected: "b", labels: labels, objectives: objectives)
        }
        await #expect(throws: FeedbackError.emptyText(field: "rejected")) {
            try await store.addFeedback(prompt: "p", chosen: "a", rejected: "\n", labels: labels, objectives: objectives)
        }
        await #expect(throws: FeedbackError.identicalTexts(field: "rejected")) {
            try await store.addFeedback(prompt: "p", chosen: "same", rejected: "same", labels: labels, objectives: objectives)
        }
        #expect(FeedbackError.emptyText(field: "chosen").param == "chosen")
    }

    @Test func everyErrorHasAMessageAndACode() {
        let errors: [FeedbackError] = [
            .unknownCompletion(id: "c", field: "chosen_id"), .sameCompletion(id: "c"), .differentPrompts(chosenID: "a", rejectedID: "b"),
            .missingLabels, .noPreference, .unknownObjective(name: "x", configured: ["y"]), .invalidLabel(objective: "y", value: 3),
            .emptyText(field: "prompt"), .identicalTexts(field: "rejected"), .duplicatePair(existingID: "fb-1"),
            .duplicateCompletion(id: "c"), .invalidLimit(0, allowed: 1...10), .unknownCursor("fb-x"), .jobAlreadyActive(id: "job-1"),
            .unknownJob(id: "job-2"), .jobStateConflict(id: "job-1", state: .failed, action: "mark it running"),
            .notAFinalState(.running), .unknownAdapterVersion(name: "a", version: 1), .duplicateAdapterVersion(name: "a", version: 1),
            .conflictingPromotion(name: "a"), .noAdapterVersions(jobID: "job-1"),
        ]
        #expect(Set(errors.map(\.code)).count == errors.count)
        for error in errors { #expect(!error.message.isEmpty) }
        #expect(FeedbackError.duplicatePair(existingID: "fb-1").kind == .conflict)
        #expect(FeedbackError.jobAlreadyActive(id: "job-1").kind == .conflict)
    }
}
