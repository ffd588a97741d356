import Hummingbird

/// `GET /openapi.json`: the OpenAPI 3.1 description of every route (Sources/Server/OpenAPI/openapi.json). It is a
/// reviewed JSON file rather than a document built in Swift, so that a change to the API shows as a diff of the
/// document itself; SwiftPM's `embedInCode` compiles it into the binary. Like the console's files it holds no data,
/// so it is served without an API key. OpenAPITests keeps it equal to the router's routes.
struct OpenAPIController<Context: RequestContext>: Sendable {
    var endpoints: RouteCollection<Context> {
        RouteCollection(context: Context.self)
            .get("openapi.json", use: document)
    }

    static var bytes: [UInt8] { PackageResources.openapi_json }

    @Sendable func document(_ request: Request, context: Context) async throws -> Response {
        Response(status: .ok,
                 headers: [.contentType: "application/json", .cacheControl: "no-cache", .contentLength: String(Self.bytes.count)],
                 body: .init(byteBuffer: ByteBuffer(bytes: Self.bytes)))
    }
}
