import Feedback
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `POST /v1/feedback` (a preference pair, by completion ids or by texts, with a label per objective),
/// `GET /v1/feedback` (paged), `GET /v1/feedback/export` (JSONL in the layout `raconteur align` reads).
///
/// A stored row that cannot be read (a column edited outside the server, e.g. labels that are no longer JSON) never
/// fails a listing or cuts the export short: both routes skip it, log a warning naming the row and why, and say
/// how many rows they left out, the list as `skipped` in its body, the export as the trailer
/// `X-Raconteur-Skipped-Rows` (sent only when rows were skipped). Every other row is listed and exported in full.
/// Texts are stored and returned byte for byte, U+0000 included.
struct FeedbackController<Context: APIKeyContext>: Sendable {
    let store: FeedbackStore
    let configuration: ServerConfiguration
    /// Told after every stored pair (the realignment policy counts them).
    let onFeedback: @Sendable () async -> Void

    var endpoints: RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        routes.group().add(middleware: RequireScope(.feedback))
            .post("feedback", use: create)
        routes.group().add(middleware: RequireScope(.admin))
            .get("feedback", use: list)
            .get("feedback/export", use: export)
            .delete("feedback/{id}", use: delete)
        return routes
    }

    struct FeedbackRequest: Decodable {
        var chosenID: String?
        var rejectedID: String?
        var prompt: String?
        var chosen: String?
        var rejected: String?
        var labels: [String: Int]?
        var user: String?
        var note: String?

        private enum CodingKeys: String, CodingKey {
            case prompt, chosen, rejected, labels, user, note
            case chosenID = "chosen_id", rejectedID = "rejected_id"
        }
    }

    struct FeedbackObject: Encodable {
        var id: String
        var object = "feedback"
        var created: Int
        var prompt: String
        var chosen: String
        var rejected: String
        var chosenID: String?
        var rejectedID: String?
        var labels: [String: Int]
        /// The id of the API key that posted the pair (never the key).
        var keyID: String?

        init(_ pair: PreferencePair) {
            id = pair.id
            created = Int(pair.created.timeIntervalSince1970)
            prompt = pair.prompt
            chosen = pair.chosen
            rejected = pair.rejected
            chosenID = pair.chosenID
            rejectedID = pair.rejectedID
            labels = pair.labels
            keyID = pair.keyID
        }

        private enum CodingKeys: String, CodingKey {
            case id, object, created, prompt, chosen, rejected, labels
            case chosenID = "chosen_id", rejectedID = "rejected_id", keyID = "key_id"
        }
    }

    struct FeedbackList: Encodable {
        var object = "list"
        var data: [FeedbackObject]
        var hasMore: Bool
        var nextCursor: String?
        var total: Int
        /// Rows of this page left out because they cannot be read (each logged); `total` counts them.
        var skipped: Int

        private enum CodingKeys: String, CodingKey {
            case object, data, total, skipped, hasMore = "has_more", nextCursor = "next_cursor"
        }
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        let body = try await request.decodeJSON(as: FeedbackRequest.self, maxBytes: configuration.maxBodyBytes)
        guard let labels = body.labels else { throw APIError.missingParameter("labels") }
        let objectives = configuration.objectives.map(\.name)
        let byIDs = body.chosenID != nil || body.rejectedID != nil
        let byTexts = body.prompt != nil || body.chosen != nil || body.rejected != nil
        let pair: PreferencePair
        do {
            switch (byIDs, byTexts) {
            case (true, true):
                throw APIError.invalidValue(body.chosenID != nil ? "chosen_id" : "rejected_id",
                                            "Give the pair either as completion ids ('chosen_id', 'rejected_id') or as texts ('prompt', 'chosen', 'rejected'), not both.",
                                            code: "conflicting_parameters")
            case (true, false):
                guard let chosen = body.chosenID else { throw APIError.missingParameter("chosen_id") }
                guard let rejected = body.rejectedID else { throw APIError.missingParameter("rejected_id") }
                pair = try await store.addFeedback(chosenID: chosen, rejectedID: rejected, labels: labels, objectives: objectives,
                                                   user: body.user, note: body.note, keyID: context.identity?.id)
            case (false, true):
                guard let prompt = body.prompt else { throw APIError.missingParameter("prompt") }
                guard let chosen = body.chosen else { throw APIError.missingParameter("chosen") }
                guard let rejected = body.rejected else { throw APIError.missingParameter("rejected") }
                pair = try await store.addFeedback(prompt: prompt, chosen: chosen, rejected: rejected, labels: labels,
                                                   objectives: objectives, user: body.user, note: body.note,
                                                   keyID: context.identity?.id)
            case (false, false):
                throw APIError.missingParameter("chosen_id")
            }
        } catch let error as FeedbackError {
            throw APIError(error)
        }
        await onFeedback()
        return try Response.json(FeedbackObject(pair), status: .created)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let cursor = request.uri.queryParameters.get("after")
        let limitText = request.uri.queryParameters.get("limit")
        guard let limit = limitText.map({ Int($0) }) ?? 20 else {
            throw APIError.invalidValue("limit", "Invalid 'limit': '\(limitText ?? "")' is not an integer.", code: "invalid_type")
        }
        let filter = try Self.filter(request.uri.queryParameters.get("objective"), request.uri.queryParameters.get("label"),
                                     objectives: configuration.objectives.map(\.name))
        do {
            let page = try await store.feedback(after: cursor, limit: limit, matching: filter)
            Self.logSkipped(page.skipped, route: "GET /v1/feedback", logger: context.logger)
            return try Response.json(FeedbackList(data: page.pairs.map(FeedbackObject.init), hasMore: page.nextCursor != nil,
                                                  nextCursor: page.nextCursor, total: try await store.feedbackCount(matching: filter),
                                                  skipped: page.skipped.count))
        } catch let error as FeedbackError {
            throw APIError(error)
        }
    }

    /// `?objective=<name>&label=<-1|0|1>`: a configured objective and a label, each optional.
    static func filter(_ objective: String?, _ label: String?, objectives: [String]) throws -> FeedbackFilter {
        var filter = FeedbackFilter()
        if let objective, !objective.isEmpty {
            guard objectives.contains(objective) else {
                throw APIError.invalidValue("objective", "Invalid 'objective': '\(objective.prefix(64))' is not one of \(objectives.joined(separator: ", ")).")
            }
            filter.objective = objective
        }
        if let label, !label.isEmpty {
            guard let value = Int(label), (-1...1).contains(value) else {
                throw APIError.invalidValue("label", "Invalid 'label': '\(label.prefix(16))' is not -1, 0 or 1.")
            }
            filter.label = value
        }
        return filter
    }

    struct Deleted: Encodable {
        var id: String
        var object = "feedback"
        var deleted = true
    }

    /// `DELETE /v1/feedback/{id}`: removes one pair (the completions it names stay).
    @Sendable func delete(_ request: Request, context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        guard try await store.deleteFeedback(id: id) else {
            throw APIError(status: .notFound, message: "No preference pair has the id '\(id.prefix(100))'.",
                           type: "invalid_request_error", param: "id", code: "feedback_not_found")
        }
        return try Response.json(Deleted(id: id))
    }

    /// Streams the whole log, one JSON object per line, without holding it in memory. Rows that cannot be read are
    /// left out whole and logged; their count is the trailer `X-Raconteur-Skipped-Rows`.
    @Sendable func export(_ request: Request, context: Context) async throws -> Response {
        let chunks = store.exportJSONLChunks()
        let logger = context.logger
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson",
                                               .contentDisposition: "attachment; filename=\"feedback.jsonl\""],
                        body: ResponseBody { writer in
            var skipped = 0
            for try await chunk in chunks {
                Self.logSkipped(chunk.skipped, route: "GET /v1/feedback/export", logger: logger)
                skipped += chunk.skipped.count
                if !chunk.lines.isEmpty { try await writer.write(ByteBuffer(bytes: chunk.lines)) }
            }
            if skipped > 0 {
                logger.warning("GET /v1/feedback/export left out \(skipped) unreadable row(s); every other row was exported")
            }
            try await writer.finish(skipped > 0 ? [Self.skippedRowsTrailer: String(skipped)] : nil)
        })
    }

    /// The export's trailer: how many rows it left out because they cannot be read.
    static var skippedRowsTrailer: HTTPField.Name { HTTPField.Name("X-Raconteur-Skipped-Rows")! }

    static func logSkipped(_ rows: [SkippedRow], route: String, logger: Logger) {
        for row in rows {
            logger.warning("\(route) skipped a stored row that cannot be read: \(row)")
        }
    }
}

extension APIError {
    /// The store's refusal as the API's error: 400, 404 or 409 with its field and code.
    init(_ error: FeedbackError) {
        let status: HTTPResponse.Status
        switch error.kind {
        case .invalidRequest: status = .badRequest
        case .notFound: status = .notFound
        case .conflict: status = .conflict
        }
        self.init(status: status, message: error.message, type: "invalid_request_error", param: error.param, code: error.code)
    }
}
