#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hummingbird

/// Who may reach the API from a web browser. An open server on loopback is still reachable by any page the user
/// opens: a page can POST `text/plain` to it without a CORS preflight, and a site that points its own name at
/// 127.0.0.1 (DNS rebinding) becomes same-origin with it. So the server answers only `Host` names it knows (IP
/// addresses, `localhost`, `[server] allowed_hosts`), and a request that carries a foreign `Origin` only when that
/// origin is listed in `[server] cors_origins` (Fetch standard, "CORS protocol").
struct OriginPolicy: Sendable {
    let allowedHosts: Set<String>
    let anyHost: Bool
    let corsOrigins: Set<String>
    let anyOrigin: Bool

    init(allowedHosts: [String] = [], corsOrigins: [String] = []) {
        self.allowedHosts = Set(allowedHosts.map { $0.lowercased() })
        anyHost = allowedHosts.contains("*")
        self.corsOrigins = Set(corsOrigins.map { $0.lowercased() })
        anyOrigin = corsOrigins.contains("*")
    }

    init(_ configuration: ServerConfiguration) {
        self.init(allowedHosts: configuration.allowedHosts, corsOrigins: configuration.corsOrigins)
    }

    /// Whether a request with this `Host` header is answered. An IP address cannot be rebound, so every literal
    /// address is answered; so is a request without the header (HTTP/1.0), which no browser sends.
    func allows(host header: String?) -> Bool {
        guard let header else { return true }
        guard let name = Self.hostName(fromHostHeader: header) else { return false }
        return anyHost || name == "localhost" || Self.isIPAddress(name) || allowedHosts.contains(name)
    }

    enum OriginDecision: Equatable {
        /// The page was served by this server (the origin names the host the request was sent to).
        case sameOrigin
        /// A listed origin: the response carries `Access-Control-Allow-Origin`.
        case allowedCrossOrigin
        case refused
    }

    func decide(origin: String, host: String?) -> OriginDecision {
        let origin = origin.lowercased()
        if let host, let slash = origin.range(of: "://"), origin[slash.upperBound...] == host.lowercased() {
            return .sameOrigin
        }
        return anyOrigin || corsOrigins.contains(origin) ? .allowedCrossOrigin : .refused
    }

    /// `localhost` from `localhost:8080`, `::1` from `[::1]:8080`, lowercased; nil for a malformed header.
    static func hostName(fromHostHeader header: String) -> String? {
        let header = header.lowercased()
        guard !header.isEmpty, header.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else { return nil }
        if header.hasPrefix("[") {
            guard let close = header.firstIndex(of: "]") else { return nil }
            let rest = header[header.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && Self.isPort(rest.dropFirst())) else { return nil }
            return String(header[header.index(after: header.startIndex)..<close])
        }
        let parts = header.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].isEmpty else { return nil }
        if parts.count == 2, !isPort(parts[1]) { return nil }
        return String(parts[0])
    }

    private static func isPort(_ text: Substring) -> Bool {
        !text.isEmpty && text.count <= 5 && text.allSatisfy(\.isASCII) && text.allSatisfy(\.isNumber)
    }

    static func isIPAddress(_ name: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }

    /// `scheme://host[:port]` as browsers send it in `Origin`: no path, no trailing slash.
    static func isSerialisedOrigin(_ text: String) -> Bool {
        guard let slash = text.range(of: "://") else { return false }
        let scheme = text[..<slash.lowerBound], rest = String(text[slash.upperBound...])
        return ["http", "https"].contains(scheme.lowercased()) && !rest.contains("/") && hostName(fromHostHeader: rest) != nil
    }
}

/// Applies `OriginPolicy` to every request, answers CORS preflights, and marks responses to listed origins.
struct OriginPolicyMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: OriginPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let host = request.head.authority   // HTTP/1.1's Host header
        guard policy.allows(host: host) else {
            return try APIError(status: .forbidden,
                                message: "This server does not answer to the host name '\(String((host ?? "").prefix(100)))'; "
                                    + "add it to [server] allowed_hosts to serve it under that name.",
                                type: "invalid_request_error", code: "host_not_allowed").response(from: request, context: context)
        }
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        let decision = policy.decide(origin: origin, host: host)
        guard decision != .refused else {
            return try APIError(status: .forbidden,
                                message: "Requests from pages at '\(String(origin.prefix(100)))' are not allowed; "
                                    + "list the origin in [server] cors_origins to allow them.",
                                type: "invalid_request_error", code: "origin_not_allowed").response(from: request, context: context)
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var response = Response(status: .noContent)
            if decision == .allowedCrossOrigin {
                Self.markCrossOrigin(&response.headers, origin: origin)
                response.headers[.accessControlAllowMethods] = "GET, POST, DELETE, OPTIONS"
                response.headers[.accessControlAllowHeaders] = "Authorization, Content-Type"
                response.headers[.accessControlMaxAge] = "600"
            }
            return response
        }
        var response = try await next(request, context)
        if decision == .allowedCrossOrigin { Self.markCrossOrigin(&response.headers, origin: origin) }
        return response
    }

    private static func markCrossOrigin(_ headers: inout HTTPFields, origin: String) {
        headers[.accessControlAllowOrigin] = origin
        headers[.vary] = "Origin"
    }
}
