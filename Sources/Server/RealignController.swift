import Alignment
import Feedback
import Foundation
import Hummingbird

/// `POST /v1/realign` starts a job, `GET /v1/realign/{id}` shows it, `GET /v1/realign` lists recent ones,
/// `POST /v1/realign/{id}/cancel` stops one.
struct RealignController<Context: APIKeyContext>: Sendable {
    let manager: RealignManager
    let configuration: ServerConfiguration

    var endpoints: RouteCollection<Context> {
        RouteCollection(context: Context.self)
            .add(middleware: RequireScope(.admin))
            .post("realign", use: create)
            .get("realign", use: list)
            .get("realign/{id}", use: show)
            .post("realign/{id}/cancel", use: cancel)
    }

    struct JobObject: Encodable {
        var id: String
        var object = "realign.job"
        var state: String
        var created: Int
        @EncodedAsNull var started: Int?
        @EncodedAsNull var finished: Int?
        var request: JSONValue
        @EncodedAsNull var progress: JSONValue?
        @EncodedAsNull var report: JSONValue?
        @EncodedAsNull var error: String?
        @EncodedAsNull var pairsUsed: Int?

        init(_ job: RealignJob, live: AlignmentProgress? = nil) {
            id = job.id
            state = job.state.rawValue
            created = Int(job.created.timeIntervalSince1970)
            started = job.started.map { Int($0.timeIntervalSince1970) }
            finished = job.finished.map { Int($0.timeIntervalSince1970) }
            request = job.request
            progress = live.flatMap { try? JSONValue(encoding: $0) } ?? job.progress
            report = job.report
            error = job.error
            pairsUsed = job.pairsUsed
        }

        private enum CodingKeys: String, CodingKey {
            case id, object, state, created, started, finished, request, progress, report, error
            case pairsUsed = "pairs_used"
        }
    }

    struct JobList: Encodable {
        var object = "list"
        var data: [JobObject]
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        // An empty body means "the configured defaults".
        let body: RealignRequest
        if request.headers[.contentLength].flatMap(Int.init) == 0 {
            body = RealignRequest()
        } else {
            body = try await request.decodeJSON(as: RealignRequest.self, maxBytes: configuration.maxBodyBytes)
        }
        let job = try await manager.start(body)
        return try Response.json(JobObject(job), status: .accepted)
    }

    /// The newest jobs; a stored job that cannot be read is left out and logged, never a 500 for the whole list.
    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let page = try await manager.store.jobPage(limit: 20)
        for row in page.skipped { context.logger.warning("GET /v1/realign skipped a stored row that cannot be read: \(row)") }
        return try Response.json(JobList(data: page.jobs.map { JobObject($0) }))
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let (job, live) = try await manager.job(try context.parameters.require("id"))
        return try Response.json(JobObject(job, live: live))
    }

    @Sendable func cancel(_ request: Request, context: Context) async throws -> Response {
        let job = try await manager.cancel(try context.parameters.require("id"))
        return try Response.json(JobObject(job), status: .accepted)
    }
}
