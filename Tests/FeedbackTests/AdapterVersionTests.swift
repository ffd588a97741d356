import Foundation
import Testing
@testable import Feedback

@Suite struct AdapterVersionTests {
    func version(_ name: String, _ number: Int, job: String? = nil, active: Bool = false) -> AdapterVersionRecord {
        AdapterVersionRecord(name: name, version: number, path: "/adapters/\(name)-v\(number).gguf", sha256: String(repeating: "ab", count: 32),
                             objectives: Fixtures.objectives, weights: [1, 0], method: "raco", jobID: job,
                             created: Date(timeIntervalSince1970: 1_790_000_000.5), active: active)
    }

    @Test(arguments: Backend.allCases) func promotingAJobSwapsItsVersionsInAndTheOldOnesOut(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        try await store.recordAdapterVersion(version("w1.00", 1, active: true))
        try await store.recordAdapterVersion(version("w0.00", 1, active: true))
        try await store.recordAdapterVersion(version("other", 1, active: true))
        #expect(try await store.activeAdapters().map(\.key) == [.init(name: "other", version: 1), .init(name: "w0.00", version: 1),
                                                                .init(name: "w1.00", version: 1)])

        let job = try await store.createJob(request: .null)
        try await store.recordAdapterVersion(version("w1.00", 2, job: job.id))
        try await store.recordAdapterVersion(version("w0.00", 2, job: job.id))
        // Recorded but not yet promoted: the old versions still serve.
        #expect(try await store.activeAdapters().map(\.version) == [1, 1, 1])

        let promoted = try await store.promote(job: job.id)
        #expect(promoted.map(\.key) == [.init(name: "w0.00", version: 2), .init(name: "w1.00", version: 2)])
        #expect(promoted.allSatisfy { $0.active })
        let active = try await store.activeAdapters()
        #expect(active.map(\.key) == [.init(name: "other", version: 1), .init(name: "w0.00", version: 2), .init(name: "w1.00", version: 2)])
        #expect(try await store.adapterVersions(name: "w1.00").map(\.active) == [false, true])
        #expect(try await store.latestAdapterVersion(name: "w1.00") == 2)
        #expect(try await store.latestAdapterVersion(name: "none") == nil)
        #expect(try await store.adapterVersions(name: "w1.00").last == version("w1.00", 2, job: job.id, active: true))

        // Rolling back is a promotion of the old versions.
        try await store.promote([.init(name: "w1.00", version: 1)])
        #expect(try await store.adapterVersions(name: "w1.00").map(\.active) == [true, false])
    }

    @Test(arguments: Backend.allCases) func promotionErrorsChangeNothing(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        try await store.recordAdapterVersion(version("a", 1, active: true))
        try await store.recordAdapterVersion(version("a", 2))
        await #expect(throws: FeedbackError.unknownAdapterVersion(name: "b", version: 1)) {
            try await store.promote([.init(name: "a", version: 2), .init(name: "b", version: 1)])
        }
        #expect(try await store.activeAdapters().map(\.version) == [1])
        await #expect(throws: FeedbackError.conflictingPromotion(name: "a")) {
            try await store.promote([.init(name: "a", version: 1), .init(name: "a", version: 2)])
        }
        await #expect(throws: FeedbackError.duplicateAdapterVersion(name: "a", version: 2)) {
            try await store.recordAdapterVersion(version("a", 2))
        }
        await #expect(throws: FeedbackError.unknownJob(id: "job-missing")) {
            try await store.recordAdapterVersion(version("a", 3, job: "job-missing"))
        }
        await #expect(throws: FeedbackError.unknownJob(id: "job-missing")) { try await store.promote(job: "job-missing") }
        let empty = try await store.createJob(request: .null)
        await #expect(throws: FeedbackError.noAdapterVersions(jobID: empty.id)) { try await store.promote(job: empty.id) }
    }

    @Test(arguments: Backend.allCases) func recordingAnActiveVersionDeactivatesTheOthers(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        try await store.recordAdapterVersion(version("a", 1, active: true))
        try await store.recordAdapterVersion(version("a", 2, active: true))
        #expect(try await store.adapterVersions().map(\.active) == [false, true])
    }
}

/// The version history's store side: rollback activation, pruning marks, and what each version served.
@Suite struct AdapterVersionHistoryTests {
    func version(_ name: String, _ number: Int, active: Bool = false) -> AdapterVersionRecord {
        AdapterVersionRecord(name: name, version: number, path: "/adapters/.history/\(name)/v\(number).gguf",
                             sha256: String(repeating: "cd", count: 32), objectives: Fixtures.objectives, weights: [1, 0],
                             method: "raco", created: Date(timeIntervalSince1970: 1_790_000_000), active: active)
    }

    @Test(arguments: Backend.allCases) func activatingAnOlderVersionIsDurableAndPrunedOrUnknownOnesAreRefused(_ backend: Backend) async throws {
        let location = try await backend.makeLocation()
        defer { location.remove() }
        do {
            let store = try await location.open()
            for n in 1...3 { try await store.recordAdapterVersion(version("a", n, active: n == 3)) }
            let active = try await store.activateAdapterVersion(name: "a", version: 1)
            #expect(active.version == 1 && active.active)
            try await store.markAdapterVersionsPruned(name: "a", versions: [2])
            await #expect(throws: AdapterVersionHistoryError.prunedVersion(name: "a", version: 2)) {
                try await store.activateAdapterVersion(name: "a", version: 2)
            }
            await #expect(throws: AdapterVersionHistoryError.unknownVersion(name: "a", version: 9)) {
                try await store.activateAdapterVersion(name: "a", version: 9)
            }
            // The served version is never marked pruned, and a refused mark changes nothing.
            await #expect(throws: AdapterVersionHistoryError.prunedVersion(name: "a", version: 1)) {
                try await store.markAdapterVersionsPruned(name: "a", versions: [3, 1])
            }
            try await store.updateAdapterVersionPath(name: "a", version: 3, path: "/elsewhere/v3.gguf")
            await #expect(throws: AdapterVersionHistoryError.unknownVersion(name: "a", version: 4)) {
                try await store.updateAdapterVersionPath(name: "a", version: 4, path: "/x")
            }
        }
        // Reopened: the rollback, the pruned mark and the path are as they were left; numbers keep counting.
        let reopened = try await location.open()
        let rows = try await reopened.adapterVersions(name: "a")
        #expect(rows.map(\.active) == [true, false, false])
        #expect(rows.map(\.pruned) == [false, true, false])
        #expect(rows.last?.path == "/elsewhere/v3.gguf")
        #expect(try await reopened.latestAdapterVersion(name: "a") == 3)
    }

    @Test(arguments: Backend.allCases) func qualityCountsWhatEachVersionServedAndHowItsPairsWent(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        func completion(_ id: String, _ text: String, _ uses: [AdapterUse], tokens: Int) -> CompletionRecord {
            var record = Fixtures.completion(id: id, text: text)
            record.adapters = uses
            record.completionTokens = tokens
            return record
        }
        let a1 = AdapterUse(name: "a", version: 1, scale: 1), a2 = AdapterUse(name: "a", version: 2, scale: 1)
        let b1 = AdapterUse(name: "b", version: 1, scale: 0.5)
        try await store.recordCompletions([
            completion("c1", "one", [a1], tokens: 10),
            completion("c2", "two", [a2], tokens: 20),
            completion("c3", "three", [a2, b1], tokens: 5),
            completion("c4", "four", [], tokens: 7),
            completion("c5", "five", [a2], tokens: 1),
        ])
        // a@2 beats a@1 on concise, loses on detailed.
        _ = try await store.addFeedback(chosenID: "c2", rejectedID: "c1", labels: ["concise": 1, "detailed": -1], objectives: Fixtures.objectives)
        // The base model's completion beats the a@2 + b@1 mixture on concise; a tie on detailed.
        _ = try await store.addFeedback(chosenID: "c4", rejectedID: "c3", labels: ["concise": 1, "detailed": 0], objectives: Fixtures.objectives)
        // a@2 on both sides: says nothing about a@2, and b@1 (on the rejected side only) wins on concise.
        _ = try await store.addFeedback(chosenID: "c5", rejectedID: "c3", labels: ["concise": -1], objectives: Fixtures.objectives)

        let quality = try await store.adapterVersionQuality()
        let q1 = try #require(quality[AdapterVersionKey(name: "a", version: 1)])
        let q2 = try #require(quality[AdapterVersionKey(name: "a", version: 2)])
        let qb = try #require(quality[AdapterVersionKey(name: "b", version: 1)])
        #expect(q1.completions == 1 && q1.completionTokens == 10)
        #expect(q2.completions == 3 && q2.completionTokens == 26)
        #expect(qb.completions == 1 && qb.completionTokens == 5)
        #expect(q1.objectives == ["concise": ObjectiveTally(losses: 1), "detailed": ObjectiveTally(wins: 1)])
        #expect(q2.objectives == ["concise": ObjectiveTally(wins: 1, losses: 1), "detailed": ObjectiveTally(losses: 1, ties: 1)])
        #expect(q2.objectives["concise"]?.winRate == 0.5)
        #expect(qb.objectives == ["concise": ObjectiveTally(wins: 1, losses: 1), "detailed": ObjectiveTally(ties: 1)])
        #expect(qb.objectives["detailed"]?.winRate == nil, "no decided pair: no rate")
        #expect(quality.count == 3, "the base model is no version")
        // Filtered to one name.
        #expect(try await store.adapterVersionQuality(name: "b").keys.map(\.name) == ["b"])
    }
}
