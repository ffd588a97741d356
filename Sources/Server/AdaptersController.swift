import Adapters
import Foundation
import Hummingbird
import Model

/// `GET/POST/DELETE /v1/adapters`: the adapters served, loading (or replacing) one from the adapters directory,
/// unloading one. Replacing or unloading never touches a generation in flight: each request pinned its versions.
struct AdaptersController<Context: APIKeyContext>: Sendable {
    let host: ModelHost
    let configuration: ServerConfiguration

    var endpoints: RouteCollection<Context> {
        RouteCollection(context: Context.self)
            .get("adapters", use: list)
            .get("adapters/{id}", use: show)
            .add(middleware: RequireScope(.admin))
            .post("adapters", use: load)
            .delete("adapters/{id}", use: unload)
    }

    struct AdapterObject: Encodable {
        var id: String
        var object = "adapter"
        var version: Int
        var rank: Int
        var alpha: Float
        var projections: Int
        var parameters: Int
        var objectives: [String]
        var weights: [Double]
        var method: String?
        var trainedVersion: Int
        var loadedAt: Int
        var source: String?
        /// The previous version a load replaced (still serving the requests that pinned it).
        var replacedVersion: Int?

        init(_ version: AdapterVersion, replaced: Int? = nil) {
            id = version.name
            self.version = version.version
            rank = version.adapter.rank
            alpha = version.adapter.alpha
            projections = version.adapter.matrices.count
            parameters = version.adapter.parameterCount
            objectives = version.metadata.objectives
            weights = version.metadata.weights
            method = version.metadata.method
            trainedVersion = version.metadata.version
            loadedAt = Int(version.loadedAt.timeIntervalSince1970)
            source = version.source.map { ($0 as NSString).lastPathComponent }
            replacedVersion = replaced
        }

        private enum CodingKeys: String, CodingKey {
            case id, object, version, rank, alpha, projections, parameters, objectives, weights, method, source
            case trainedVersion = "trained_version", loadedAt = "loaded_at", replacedVersion = "replaced_version"
        }
    }

    struct AdapterList: Encodable {
        var object = "list"
        var data: [AdapterObject]
    }

    struct LoadRequest: Decodable {
        var id: String
        /// A .gguf file in the adapters directory, relative to it; default `<id>.gguf`.
        var path: String?
    }

    struct Deleted: Encodable {
        var id: String
        var object = "adapter"
        var version: Int
        var deleted = true
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let engine = try host.engine()
        return try Response.json(AdapterList(data: engine.adapters.registry.all().map { AdapterObject($0) }))
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let version = try host.engine().adapters.registry.get(id) else { throw APIError.adapterNotFound(id, param: "id") }
        return try Response.json(AdapterObject(version))
    }

    /// 201 with the new adapter, or 200 with the replacement version (and the version it replaced).
    @Sendable func load(_ request: Request, context: Context) async throws -> Response {
        let body = try await request.decodeJSON(as: LoadRequest.self, maxBytes: configuration.maxBodyBytes)
        guard AdapterRegistry.isValidName(body.id) else {
            throw APIError.invalidValue("id", "Invalid 'id': use 1 to 64 letters, digits, '-', '_' or '.'.")
        }
        let catalog = try host.engine().adapters
        let path = try catalog.resolveFile(body.path ?? body.id + ".gguf")
        let previous = catalog.registry.get(body.id)
        let version: AdapterVersion
        do {
            version = try await runBlocking { try catalog.registry.load(name: body.id, path: path) }
        } catch let error as AdapterError {
            throw APIError.invalidValue("path", "The adapter file cannot be served: \(error)", code: "invalid_adapter")
        } catch {
            throw APIError.invalidValue("path", "The adapter file cannot be read: \(error)", code: "invalid_adapter")
        }
        return try Response.json(AdapterObject(version, replaced: previous?.version), status: previous == nil ? .created : .ok)
    }

    @Sendable func unload(_ request: Request, context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        let registry = try host.engine().adapters.registry
        guard let removed = try? registry.unload(id) else { throw APIError.adapterNotFound(id, param: "id") }
        return try Response.json(Deleted(id: id, version: removed.version))
    }
}
