import Adapters
import Engine
import Feedback
import Foundation
import GGUF
import Logging
import ServiceLifecycle

/// Holds the engine once the model has loaded. Routes ask it for the engine and get 503 until then, which
/// lets the server answer `/health` while a large model is still being mapped.
final class ModelHost: @unchecked Sendable {
    private enum State {
        case loading
        case ready(InferenceEngine)
        case stopped
    }

    private let lock = NSLock()
    private var state = State.loading

    /// The engine, or the 503 a client should see while there is none.
    func engine() throws -> InferenceEngine {
        try lock.withLock {
            switch state {
            case .loading: throw APIError.modelLoading
            case .ready(let engine): return engine
            case .stopped: throw APIError.shuttingDown
            }
        }
    }

    var isReady: Bool {
        lock.withLock { if case .ready = state { return true } else { return false } }
    }

    var statistics: Scheduler.Statistics? {
        lock.withLock { if case .ready(let engine) = state { return engine.scheduler.statistics } else { return nil } }
    }

    func becomeReady(_ engine: InferenceEngine) {
        lock.withLock { state = .ready(engine) }
    }

    /// Stops taking requests and returns the engine to shut down.
    func stop() -> InferenceEngine? {
        lock.withLock {
            defer { state = .stopped }
            if case .ready(let engine) = state { return engine }
            return nil
        }
    }
}

/// Loads the model when the application starts, serves it until graceful shutdown, then stops the scheduler
/// (generations in flight finish as cancelled).
struct ModelLoadingService: Service {
    let host: ModelHost
    let configuration: ServerConfiguration
    let metrics: ServerMetrics
    let logger: Logger
    /// Numbers adapter versions durably and keeps their history (nil: numbered per process).
    var store: FeedbackStore? = nil
    let load: @Sendable () async throws -> ServedModel

    func run() async throws {
        let started = Date()
        let served: ServedModel
        do {
            served = try await load()
        } catch {
            logger.critical("cannot load the model \(configuration.modelPath): \(error)")
            throw error
        }
        let scheduler = Scheduler(model: served.model, tokenizer: served.tokenizer, maxActive: configuration.maxBatch,
                                  maxQueued: configuration.maxQueued, contextLimit: configuration.contextLimit)
        scheduler.onStep = { [metrics] step in
            metrics.recordStep(sequences: step.sequences, distinctMixtures: step.distinctMixtures, seconds: step.seconds)
        }
        let registry = AdapterRegistry(config: served.model.config, baseFingerprint: BaseModelFingerprint.of(served.model.file))
        let adapters = AdapterCatalog(registry: registry, objectives: configuration.objectives.map(\.name),
                                      directory: configuration.adaptersDirectory, maxMixture: configuration.maxMixtureAdapters,
                                      store: store, keepVersions: configuration.keepVersions)
        await adapters.loadDirectory(logger: logger)
        host.becomeReady(InferenceEngine(served: served, scheduler: scheduler, adapters: adapters))
        let file = served.model.file
        let weights = file.storage == .mapped ? "mapped from the file"
            : file.residentOnHugePages ? "resident on huge pages" : "resident on 4 KB pages (huge pages not granted)"
        logger.info("model '\(served.id)' loaded in \(String(format: "%.2f", Date().timeIntervalSince(started))) s: context \(scheduler.contextLimit) tokens, batch \(configuration.maxBatch), queue \(configuration.maxQueued), weights \(weights)")

        try? await gracefulShutdown()
        host.stop()?.scheduler.shutdown()
    }
}
