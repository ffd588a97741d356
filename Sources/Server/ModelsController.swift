import Hummingbird

/// `GET /v1/models` and `GET /v1/models/{id}`: the base model, and `<model>:<adapter>` for every adapter loaded.
struct ModelsController<Context: RequestContext>: Sendable {
    let host: ModelHost
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
        let base = configuration.servedModelID
        let adapters = (try? host.engine().adapters.registry.all()) ?? []
        return try Response.json(ModelList(data: [ModelObject(id: base, created: started)]
            + adapters.map { ModelObject(id: "\(base):\($0.name)", created: Int($0.loadedAt.timeIntervalSince1970)) }))
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let adapter = try checkModel(id, configuration: configuration) else {
            return try Response.json(ModelObject(id: configuration.servedModelID, created: started))
        }
        guard let version = try host.engine().adapters.registry.get(adapter) else { throw APIError.modelNotFound(id) }
        return try Response.json(ModelObject(id: id, created: Int(version.loadedAt.timeIntervalSince1970)))
    }
}
