import Hummingbird

/// Counts every answered request by route and status. It sits outside the error middleware, so errors are counted
/// with the status the client received.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            record(request, context, status: Int(response.status.code))
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            record(request, context, status: Int(status))
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, status: Int) {
        // The matched route pattern, not the raw path: unknown paths must not create unbounded label values.
        let route = context.endpointPath ?? "unmatched"
        metrics.recordRequest(route: route, method: request.method.rawValue, status: status)
    }
}
