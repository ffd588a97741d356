import Feedback
import Hummingbird

/// `DELETE /v1/completions/{id}` (admin): removes a stored completion and the preference pairs that quote it.
struct StoredCompletionsController<Context: APIKeyContext>: Sendable {
    let store: FeedbackStore

    var endpoints: RouteCollection<Context> {
        RouteCollection(context: Context.self)
            .add(middleware: RequireScope(.admin))
            .delete("completions/{id}", use: delete)
    }

    struct Deleted: Encodable {
        var id: String
        var object = "completion"
        var deleted = true
        /// The preference pairs deleted with it (they held copies of its text).
        var deletedFeedback: [String]

        private enum CodingKeys: String, CodingKey {
            case id, object, deleted, deletedFeedback = "deleted_feedback"
        }
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let pairs = try await store.deleteCompletion(id: id) else {
            throw APIError(status: .notFound, message: "No stored completion has the id '\(id.prefix(100))'.",
                           type: "invalid_request_error", param: "id", code: "completion_not_found")
        }
        return try Response.json(Deleted(id: id, deletedFeedback: pairs))
    }
}
