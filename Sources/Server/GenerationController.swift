import Adapters
import Engine
import Feedback
import Hummingbird
import Logging

/// The generation routes, `POST /v1/completions` and `POST /v1/chat/completions`. They share the served model, the
/// limits, the metrics and the store, and one way to run their choices; they differ in how a request becomes
/// prompts and how the run's events become a response (the two extensions of this type).
struct GenerationController<Context: ConnectionAwareContext & APIKeyContext>: Sendable {
    let host: ModelHost
    let configuration: ServerConfiguration
    let metrics: ServerMetrics
    let store: FeedbackStore?
    let logger: Logger
    let limiter: RateLimiter

    var endpoints: RouteCollection<Context> {
        RouteCollection(context: Context.self)
            .add(middleware: RequireScope(.inference))
            .post("completions", use: createCompletion)
            .post("chat/completions", use: createChatCompletion)
    }

    /// Starts `plans` on the engine and answers through the builder made for them: a stream of chunks as tokens
    /// arrive, or one response once every choice has finished. The recorder stores each finished choice, so that
    /// feedback can name it.
    func respond<Builder: GeneratedResponseBuilder>(
        to plans: [ChoicePlan], options: GenerationOptions, mixture: AdapterMixture, endpoint: CompletionEndpoint,
        promptParam: String, arrival: UInt64, engine: InferenceEngine, context: Context,
        builder makeBuilder: (CompletionRecorder) -> Builder
    ) async throws -> Response {
        let identity = context.identity
        try limiter.admitGeneration(identity)
        let run = try GenerationRun.start(plans, engine: engine, metrics: metrics, arrival: arrival,
                                          timeoutSeconds: configuration.requestTimeout, promptParam: promptParam,
                                          connection: context.connection)
        let builder = makeBuilder(CompletionRecorder(store: store, model: configuration.servedModelID, endpoint: endpoint,
                                                     mixture: mixture, plans: plans, options: options,
                                                     keyID: identity?.id,
                                                     chargeTokens: { [limiter] in limiter.charge(identity, tokens: $0) },
                                                     logger: logger))
        if options.isStreaming {
            return builder.stream(run, includeUsage: options.includesUsageInStream)
        }
        return try await builder.complete(run)
    }
}

/// Turns a run's events into one endpoint's response shape.
protocol GeneratedResponseBuilder: Sendable {
    /// The whole response, once every choice has finished.
    func complete(_ run: AsyncThrowingStream<ChoiceEvent, any Error>) async throws -> Response
    /// Server-sent chunks as the choices advance (and `usage` last when asked for).
    func stream(_ run: AsyncThrowingStream<ChoiceEvent, any Error>, includeUsage: Bool) -> Response
}
