import Feedback
import Foundation
import Hummingbird
import Logging
import NIOCore

/// The Raconteur HTTP application for `configuration`: it starts answering at once (`/health` says 503) and loads
/// the model in the background, then serves it.
public func buildApplication(_ configuration: ServerConfiguration, logger: Logger? = nil) async throws -> some ApplicationProtocol {
    var configuration = configuration
    if configuration.chatTemplatePath != nil && configuration.chatTemplateSource == nil { try configuration.loadChatTemplate() }
    let path = configuration.modelPath, threads = configuration.effectiveThreads, id = configuration.servedModelID
    let storage = configuration.modelStorage, chatTemplate = configuration.chatTemplateSource
    return try await buildApplication(configuration, logger: logger) {
        try await ServedModel.load(path: path, threads: threads, id: id, storage: storage, chatTemplateOverride: chatTemplate)
    }
}

/// `buildApplication` with the model supplied by `loadModel` (tests share one loaded model, or hold loading back).
public func buildApplication(_ configuration: ServerConfiguration, logger: Logger? = nil,
                             loadModel: @escaping @Sendable () async throws -> ServedModel) async throws -> some ApplicationProtocol {
    try configuration.validate()
    let logger = logger ?? Logger(label: "raconteur")
    let host = ModelHost()
    let metrics = ServerMetrics()
    let store: FeedbackStore
    do {
        store = try FeedbackStore(path: configuration.storePath)
    } catch {
        throw ConfigurationError("cannot open the feedback store \(configuration.storePath): \(error)")
    }
    // A job that was running when the server stopped (or crashed) did not finish: say so.
    for id in try await store.failInterruptedJobs() {
        logger.warning("realign job \(id) was interrupted by a restart; marked failed (the previous adapters serve)")
    }
    let realign = RealignManager(store: store, host: host, configuration: configuration, logger: logger)
    let router = buildRouter(configuration, host: host, metrics: metrics, store: store, realign: realign, logger: logger)
    var app = Application(
        router: router,
        server: .http1(configuration: .init(
            additionalChannelHandlers: [ClientDisconnectWatcher(),
                                        RequestBodyDeadline(timeout: .nanoseconds(Int64(configuration.readTimeout * 1e9)))],
            idleTimeout: .nanoseconds(Int64(configuration.idleTimeout * 1e9)))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "raconteur"),
        onServerRunning: { channel in
            // The bound address, so a caller that asked for port 0 learns the real one.
            let address = channel.localAddress.map { "\($0.ipAddress ?? configuration.host):\($0.port ?? configuration.port)" }
            logger.notice("listening on http://\(address ?? "\(configuration.host):\(configuration.port)")")
        },
        logger: logger
    )
    if let keepDays = configuration.keepDays {
        app.addServices(RetentionService(store: store, keepDays: keepDays, logger: logger))
    }
    app.addServices(ModelLoadingService(host: host, configuration: configuration, metrics: metrics, logger: logger, store: store,
                                        load: loadModel))
    return app
}

func buildRouter(_ configuration: ServerConfiguration, host: ModelHost, metrics: ServerMetrics, store: FeedbackStore,
                 realign: RealignManager, logger: Logger) -> Router<ServerRequestContext> {
    let router = Router(context: ServerRequestContext.self)
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: OriginPolicyMiddleware(policy: OriginPolicy(configuration)))
    router.add(middleware: ErrorEnvelopeMiddleware(maxBodyBytes: configuration.maxBodyBytes))
    router.addRoutes(OperationsController(host: host, metrics: metrics).endpoints)
    router.addRoutes(ConsoleController().endpoints)
    router.addRoutes(OpenAPIController().endpoints)

    let limiter = RateLimiter()
    let api = router.group("v1")
        .add(middleware: APIKeyAuthenticator(keys: configuration.apiKeys))
        .add(middleware: RateLimitMiddleware(limiter: limiter))
    api.addRoutes(ModelsController(host: host, configuration: configuration, started: unixTime()).endpoints)
    api.addRoutes(AdaptersController(host: host, configuration: configuration, logger: logger).endpoints)
    api.addRoutes(GenerationController(host: host, configuration: configuration, metrics: metrics, store: store, logger: logger,
                                       limiter: limiter).endpoints)
    api.addRoutes(FeedbackController(store: store, configuration: configuration, onFeedback: { await realign.feedbackArrived() }).endpoints)
    api.addRoutes(RealignController(manager: realign, configuration: configuration).endpoints)
    api.addRoutes(StoredCompletionsController(store: store).endpoints)
    api.addRoutes(StatusController(host: host, metrics: metrics, store: store, configuration: configuration, started: Date()).endpoints)
    return router
}
