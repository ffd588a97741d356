import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// `GET /` and `GET /console/{file}`: the web console. Its files (Sources/Server/Console) are compiled into the
/// binary by SwiftPM's `embedInCode`, so the server needs nothing on disk and no network to serve it. They hold no
/// data, so they are served without an API key; the page asks for the key before it calls the API.
struct ConsoleController<Context: RequestContext>: Sendable {
    var endpoints: RouteCollection<Context> {
        RouteCollection(context: Context.self)
            .get("/", use: index)
            .get("console/{file}", use: file)
    }

    @Sendable func index(_ request: Request, context: Context) async throws -> Response {
        try serve("index.html", request: request)
    }

    @Sendable func file(_ request: Request, context: Context) async throws -> Response {
        try serve(try context.parameters.require("file"), request: request)
    }

    private func serve(_ name: String, request: Request) throws -> Response {
        guard let asset = ConsoleAssets.files[name] else { throw HTTPError(.notFound) }
        var headers: HTTPFields = [
            .contentType: asset.contentType,
            .cacheControl: "no-cache",
            .eTag: asset.etag,
            .contentSecurityPolicy: ConsoleAssets.contentSecurityPolicy,
            .xContentTypeOptions: "nosniff",
            ConsoleAssets.referrerPolicy: "no-referrer",
        ]
        if request.headers[.ifNoneMatch] == asset.etag {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentLength] = String(asset.bytes.count)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }
}

/// The console's files by name, with the headers every one of them is served with.
enum ConsoleAssets {
    struct Asset: Sendable {
        let bytes: [UInt8]
        let contentType: String
        /// A strong validator, so a browser revalidates (`no-cache`) without downloading the file again.
        let etag: String

        init(_ bytes: [UInt8], _ contentType: String) {
            self.bytes = bytes
            self.contentType = contentType
            etag = "\"" + SHA256.hash(data: bytes).prefix(12).map { String(format: "%02x", $0) }.joined() + "\""
        }
    }

    static let javaScript = "text/javascript; charset=utf-8"

    static let files: [String: Asset] = [
        "index.html": Asset(PackageResources.index_html, "text/html; charset=utf-8"),
        "console.css": Asset(PackageResources.console_css, "text/css; charset=utf-8"),
        "icon.svg": Asset(PackageResources.icon_svg, "image/svg+xml"),
        "main.js": Asset(PackageResources.main_js, javaScript),
        "api.js": Asset(PackageResources.api_js, javaScript),
        "ui.js": Asset(PackageResources.ui_js, javaScript),
        "charts.js": Asset(PackageResources.charts_js, javaScript),
        "chat.js": Asset(PackageResources.chat_js, javaScript),
        "compare.js": Asset(PackageResources.compare_js, javaScript),
        "feedback.js": Asset(PackageResources.feedback_js, javaScript),
        "realign.js": Asset(PackageResources.realign_js, javaScript),
        "adapters.js": Asset(PackageResources.adapters_js, javaScript),
        "status.js": Asset(PackageResources.status_js, javaScript),
    ]

    /// Scripts and styles from this server only (no inline script), requests to this server only, no framing.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
