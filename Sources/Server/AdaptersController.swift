import Adapters
import Foundation
import Feedback
import Hummingbird
import Logging
import Model

/// `GET/POST/DELETE /v1/adapters`: the adapters served, loading (or replacing) one from the adapters directory,
/// unloading one; an adapter's version history and rolling back to one of its versions. Replacing, rolling back or
/// unloading never touches a generation in flight: each request pinned its versions.
struct AdaptersController<Context: APIKeyContext>: Sendable {
    let host: ModelHost
    let configuration: ServerConfiguration
    var logger: Logger? = nil

    var endpoints: RouteCollection<Context> {
        RouteCollection(context: Context.self)
            .get("adapters", use: list)
            .get("adapters/{id}", use: show)
            .get("adapters/{id}/versions", use: versions)
            .add(middleware: RequireScope(.admin))
            .post("adapters", use: load)
            .delete("adapters/{id}", use: unload)
            .post("adapters/{id}/rollback", use: rollback)
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

    /// One stored version, with what it served: `GET /v1/adapters/{id}/versions`.
    struct VersionObject: Encodable {
        struct Objective: Encodable {
            var wins: Int
            var losses: Int
            var ties: Int
            @EncodedAsNull var winRate: Double?

            private enum CodingKeys: String, CodingKey { case wins, losses, ties, winRate = "win_rate" }
        }
        var id: String
        var object = "adapter.version"
        var version: Int
        var created: Int
        @EncodedAsNull var jobID: String?
        var sha256: String
        var method: String
        var objectives: [String]
        var weights: [Double]
        /// The version the store says to serve (after a restart too).
        var active: Bool
        /// The version this process serves now under the name.
        var served: Bool
        var pruned: Bool
        var completions: Int
        var completionTokens: Int
        var feedback: [String: Objective]

        init(_ entry: AdapterCatalog.VersionEntry) {
            let record = entry.record
            id = record.name
            version = record.version
            created = Int(record.created.timeIntervalSince1970)
            jobID = record.jobID
            sha256 = record.sha256
            method = record.method
            objectives = record.objectives
            weights = record.weights
            active = record.active
            served = entry.served
            pruned = record.pruned
            completions = entry.quality.completions
            completionTokens = entry.quality.completionTokens
            feedback = entry.quality.objectives.mapValues {
                Objective(wins: $0.wins, losses: $0.losses, ties: $0.ties, winRate: $0.winRate)
            }
        }

        private enum CodingKeys: String, CodingKey {
            case id, object, version, created, sha256, method, objectives, weights, active, served, pruned, completions, feedback
            case jobID = "job_id", completionTokens = "completion_tokens"
        }
    }

    struct VersionList: Encodable {
        var object = "list"
        var data: [VersionObject]
    }

    struct RollbackRequest: Decodable, IntegerFields {
        var version: Int
        static var integerFields: [String] { ["version"] }
    }

    @Sendable func versions(_ request: Request, context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let entries = try await host.engine().adapters.versions(of: id) else { throw APIError.adapterNotFound(id, param: "id") }
        return try Response.json(VersionList(data: entries.map(VersionObject.init)))
    }

    /// Serves version `version` of the adapter again (durably: a restart serves it too); 200 with the adapter as
    /// `GET /v1/adapters/{id}` shows it and the version it replaced.
    @Sendable func rollback(_ request: Request, context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        let body = try await request.decodeJSON(as: RollbackRequest.self, maxBytes: configuration.maxBodyBytes)
        guard (1...AdapterMetadata.maxVersion).contains(body.version) else {
            throw APIError.invalidValue("version", "Invalid 'version': \(body.version) is outside 1...\(AdapterMetadata.maxVersion).")
        }
        let (served, replaced) = try await host.engine().adapters.rollBack(name: id, to: body.version, logger: logger)
        return try Response.json(AdapterObject(served, replaced: replaced?.version))
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
        let previous: AdapterVersion?, version: AdapterVersion
        do {
            (version, previous) = try await catalog.adopt(name: body.id, path: path, logger: logger)
        } catch let error as AdapterError {
            throw APIError.invalidValue("path", "The adapter file cannot be served: \(error)", code: "invalid_adapter")
        } catch let error as APIError {
            throw error
        } catch let error as FeedbackError {
            throw APIError(error)
        } catch let error as AdapterHistoryError {
            throw APIError.internalError("the adapter's file cannot be kept in the history: \(error)")
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
