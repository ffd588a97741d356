import Foundation
import Testing
@testable import Feedback

@Suite struct AdapterVersionTests {
    func version(_ name: String, _ number: Int, job: String? = nil, active: Bool = false) -> AdapterVersionRecord {
        AdapterVersionRecord(name: name, version: number, path: "/adapters/\(name)-v\(number).gguf", sha256: String(repeating: "ab", count: 32),
                             objectives: Fixtures.objectives, weights: [1, 0], method: "raco", jobID: job,
                             created: Date(timeIntervalSince1970: 1_790_000_000.5), active: active)
    }

    @Test func promotingAJobSwapsItsVersionsInAndTheOldOnesOut() async throws {
        let store = try FeedbackStore.temporary()
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

    @Test func promotionErrorsChangeNothing() async throws {
        let store = try FeedbackStore.temporary()
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

    @Test func recordingAnActiveVersionDeactivatesTheOthers() async throws {
        let store = try FeedbackStore.temporary()
        try await store.recordAdapterVersion(version("a", 1, active: true))
        try await store.recordAdapterVersion(version("a", 2, active: true))
        #expect(try await store.adapterVersions().map(\.active) == [false, true])
    }
}
