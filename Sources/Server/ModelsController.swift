import Hummingbird

/// `GET /v1/models` and `GET /v1/models/{id}`: the one model this server serves.
struct ModelsController<Context: RequestContext>: Sendable {
    let configuration: ServerConfiguration
    /// Unix time the server started, reported as the model's `created`.
    let started: Int

    var endpoints: RouteCollection<Context> {
        RouteCollection(context: Context.self)
            .get("models", use: list)
            .get("models/{id}", use: show)
    }

    struct ModelObject: Encodable {
        var id: String
        var object = "model"
        var created: Int
        var ownedBy = "raconteur"

        private enum CodingKeys: String, CodingKey { case id, object, created, ownedBy = "owned_by" }
    }

    struct ModelList: Encodable {
        var object = "list"
        var data: [ModelObject]
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        try Response.json(ModelList(data: [ModelObject(id: configuration.servedModelID, created: started)]))
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        guard id == configuration.servedModelID else { throw APIError.modelNotFound(id) }
        return try Response.json(ModelObject(id: id, created: started))
    }
}
