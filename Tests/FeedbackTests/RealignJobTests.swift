import Foundation
import Testing
@testable import Feedback

@Suite struct RealignJobTests {
    let request: JSONValue = .object([
        "method": .string("raco"), "weights": .array([.array([.integer(1), .integer(0)]), .array([.double(0.5), .double(0.5)])]),
        "steps": .integer(200), "min_pairs": .integer(32),
    ])

    @Test(arguments: Backend.allCases) func lifecycleFromQueuedToSucceeded(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let job = try await store.createJob(request: request)
        #expect(job.id.hasPrefix("job-") && job.state == .queued && job.started == nil)
        #expect(try await store.job(id: job.id) == job)
        #expect(try await store.activeJob() == job)

        let running = try await store.markRunning(job.id, pairsUsed: 40, feedbackThroughSequence: 40)
        #expect(running.state == .running && running.started != nil && running.pairsUsed == 40)
        try await store.updateProgress(job.id, progress: .object(["step": .integer(10), "loss": .double(0.69)]))
        #expect(try await store.job(id: job.id)?.progress?["step"] == .integer(10))

        let report: JSONValue = .object(["accuracy": .double(0.75), "promoted": .bool(true)])
        let done = try await store.finish(job.id, state: .succeeded, report: report)
        #expect(done.state == .succeeded && done.finished != nil && done.report == report && done.error == nil)
        #expect(done.pairsUsed == 40 && done.feedbackThroughSequence == 40)
        #expect(done.request == request)
        #expect(try await store.activeJob() == nil)
        #expect(try await store.lastSucceededJob()?.id == job.id)
    }

    @Test(arguments: Backend.allCases) func oneActiveJobAtATime(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let first = try await store.createJob(request: request)
        await #expect(throws: FeedbackError.jobAlreadyActive(id: first.id)) { try await store.createJob(request: request) }
        try await store.markRunning(first.id)
        await #expect(throws: FeedbackError.jobAlreadyActive(id: first.id)) { try await store.createJob(request: request) }
        try await store.finish(first.id, state: .failed, error: "out of memory")
        let second = try await store.createJob(request: request)
        #expect(try await store.jobs(limit: 10).map(\.id) == [second.id, first.id])
        #expect(try await store.jobs(limit: 1).map(\.id) == [second.id])
        #expect(try await store.job(id: first.id)?.error == "out of memory")
    }

    @Test(arguments: Backend.allCases) func concurrentCreatesLetExactlyOneWin(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let request = self.request
        let created = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 { group.addTask { (try? await store.createJob(request: request)) != nil } }
            var count = 0
            for await ok in group where ok { count += 1 }
            return count
        }
        #expect(created == 1)
    }

    @Test(arguments: Backend.allCases) func invalidTransitions(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        await #expect(throws: FeedbackError.unknownJob(id: "job-x")) { try await store.markRunning("job-x") }
        await #expect(throws: FeedbackError.unknownJob(id: "job-x")) { try await store.finish("job-x", state: .cancelled) }
        let job = try await store.createJob(request: request)
        await #expect(throws: FeedbackError.jobStateConflict(id: job.id, state: .queued, action: "update its progress")) {
            try await store.updateProgress(job.id, progress: .null)
        }
        await #expect(throws: FeedbackError.notAFinalState(.running)) { try await store.finish(job.id, state: .running) }
        // A queued job can be cancelled before it starts.
        try await store.finish(job.id, state: .cancelled)
        await #expect(throws: FeedbackError.jobStateConflict(id: job.id, state: .cancelled, action: "mark it running")) {
            try await store.markRunning(job.id)
        }
        await #expect(throws: FeedbackError.jobStateConflict(id: job.id, state: .cancelled, action: "finish it as succeeded")) {
            try await store.finish(job.id, state: .succeeded)
        }
        await #expect(throws: FeedbackError.invalidLimit(0, allowed: FeedbackStore.pageSizes)) { try await store.jobs(limit: 0) }
    }

    @Test(arguments: Backend.allCases) func interruptedJobsFailOnRestart(_ backend: Backend) async throws {
        let location = try await backend.makeLocation()
        defer { location.remove() }
        let finishedID: String
        let runningID: String
        do {
            let store = try await location.open()
            let finished = try await store.createJob(request: request)
            try await store.finish(finished.id, state: .succeeded)
            finishedID = finished.id
            runningID = try await store.createJob(request: request).id
            try await store.markRunning(runningID)
        }
        let restarted = try await location.open()
        #expect(try await restarted.failInterruptedJobs() == [runningID])
        let interrupted = try #require(try await restarted.job(id: runningID))
        #expect(interrupted.state == .failed && interrupted.error == "interrupted by a server restart" && interrupted.finished != nil)
        #expect(try await restarted.job(id: finishedID)?.state == .succeeded)
        #expect(try await restarted.failInterruptedJobs().isEmpty)
        _ = try await restarted.createJob(request: request)
    }

    @Test(arguments: Backend.allCases) func requestsRoundTripThroughCodableStructs(_ backend: Backend) async throws {
        struct RealignRequest: Codable, Equatable {
            var method: String
            var weights: [[Double]]
            var steps: Int
            var minPairs: Int
            enum CodingKeys: String, CodingKey { case method, weights, steps, minPairs = "min_pairs" }
        }
        let original = RealignRequest(method: "raco", weights: [[1, 0], [0.25, 0.75]], steps: 200, minPairs: 32)
        let store = try await backend.makeStore()
        let job = try await store.createJob(request: try JSONValue(encoding: original))
        let stored = try #require(try await store.job(id: job.id))
        #expect(try stored.request.decode(as: RealignRequest.self) == original)
        #expect(try stored.request.jsonText() == #"{"method":"raco","min_pairs":32,"steps":200,"weights":[[1,0],[0.25,0.75]]}"#)
    }
}
