import Hummingbird

/// `GET /health` and `GET /metrics`: for load balancers and Prometheus, outside the API key check.
struct OperationsController<Context: RequestContext>: Sendable {
    let host: ModelHost
    let metrics: ServerMetrics

    var endpoints: RouteCollection<Context> {
        RouteCollection(context: Context.self)
            .get("health", use: health)
            .get("metrics", use: prometheus)
    }

    struct HealthStatus: Encodable {
        var status: String
    }

    /// 503 while the model loads (so nothing routes traffic here yet), 200 once it serves.
    @Sendable func health(_ request: Request, context: Context) async throws -> Response {
        try host.isReady
            ? Response.json(HealthStatus(status: "ok"))
            : Response.json(HealthStatus(status: "loading"), status: .serviceUnavailable)
    }

    @Sendable func prometheus(_ request: Request, context: Context) async throws -> Response {
        let statistics = host.statistics
        if let adapters = try? host.engine().adapters { metrics.setAdapterVersions(await adapters.metricVersions()) }
        let text = metrics.render(queued: statistics?.queued ?? 0, active: statistics?.active ?? 0, modelLoaded: statistics != nil)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
