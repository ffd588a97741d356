import Dispatch
import Feedback
import Foundation
import Hummingbird

/// `GET /v1/status`: the server's own state in one object, for the console's Status page and for the counts the
/// other pages show (objectives, pairs toward the next realignment, the `[realign]` defaults a job starts from).
struct StatusController<Context: RequestContext>: Sendable {
    let host: ModelHost
    let metrics: ServerMetrics
    let store: FeedbackStore
    let configuration: ServerConfiguration
    let started: Date

    var endpoints: RouteCollection<Context> {
        RouteCollection(context: Context.self)
            .get("status", use: show)
    }

    struct Status: Encodable {
        var object = "status"
        var model: String
        var ready: Bool
        var uptimeSeconds: Int
        var threads: Int
        var contextLimit: Int
        var maxBatch: Int
        var maxQueued: Int
        var queueDepth: Int
        var activeSequences: Int
        /// Active sequences over `max_batch`.
        var batchOccupancy: Double
        /// Generated tokens per second over the last few seconds.
        var tokensPerSecond: Double
        var generatedTokens: Int
        var adaptersLoaded: Int
        var objectives: [ServerConfiguration.Objective]
        var feedback: FeedbackCounts
        var realign: RealignStatus

        private enum CodingKeys: String, CodingKey {
            case object, model, ready, threads, objectives, feedback, realign
            case uptimeSeconds = "uptime_seconds", contextLimit = "context_limit", maxBatch = "max_batch"
            case maxQueued = "max_queued", queueDepth = "queue_depth", activeSequences = "active_sequences"
            case batchOccupancy = "batch_occupancy", tokensPerSecond = "tokens_per_second"
            case generatedTokens = "generated_tokens", adaptersLoaded = "adapters_loaded"
        }
    }

    struct FeedbackCounts: Encodable {
        var pairs: Int
        /// Pairs stored after the data of the newest job: what the automatic realignment counts.
        var pairsSinceLastJob: Int

        private enum CodingKeys: String, CodingKey { case pairs, pairsSinceLastJob = "pairs_since_last_job" }
    }

    struct RealignStatus: Encodable {
        var activeJob: String?
        var lastJob: String?
        /// 0: jobs start only on request.
        var autoAfterPairs: Int
        /// What a `POST /v1/realign` with an empty body uses.
        var defaults: RealignRequest

        private enum CodingKeys: String, CodingKey {
            case defaults, activeJob = "active_job", lastJob = "last_job", autoAfterPairs = "auto_after_pairs"
        }
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let statistics = host.statistics
        let newest = try await store.jobs(limit: 1).first
        let settings = configuration.realign
        let defaults = RealignRequest(weights: settings.grid(objectives: configuration.objectives.count),
                                      overrides: RealignOverrides(settings))
        let status = Status(
            model: configuration.servedModelID, ready: statistics != nil,
            uptimeSeconds: Int(Date().timeIntervalSince(started)), threads: configuration.effectiveThreads,
            contextLimit: configuration.contextLimit, maxBatch: configuration.maxBatch, maxQueued: configuration.maxQueued,
            queueDepth: statistics?.queued ?? 0, activeSequences: statistics?.active ?? 0,
            batchOccupancy: Double(statistics?.active ?? 0) / Double(max(1, configuration.maxBatch)),
            tokensPerSecond: metrics.throughput.tokensPerSecond(), generatedTokens: metrics.throughput.total,
            adaptersLoaded: (try? host.engine().adapters.registry.all().count) ?? 0,
            objectives: configuration.objectives,
            feedback: FeedbackCounts(pairs: try await store.feedbackCount(),
                                     pairsSinceLastJob: try await store.feedbackCount(afterSequence: newest?.feedbackThroughSequence ?? 0)),
            realign: RealignStatus(activeJob: try await store.activeJob()?.id, lastJob: newest?.id,
                                   autoAfterPairs: settings.autoAfterPairs, defaults: defaults))
        return try Response.json(status)
    }
}

/// Generated tokens counted in one-second buckets, so a rate over the last seconds costs a lock and an add per token.
final class TokenThroughput: @unchecked Sendable {
    private static let window = 5
    private let lock = NSLock()
    private var counts = [Int](repeating: 0, count: window + 1)
    private var seconds = [Int](repeating: -1, count: window + 1)
    private var generated = 0

    private static func now() -> Int { Int(DispatchTime.now().uptimeNanoseconds / 1_000_000_000) }

    func record() {
        let second = Self.now(), slot = second % counts.count
        lock.withLock {
            if seconds[slot] != second { seconds[slot] = second; counts[slot] = 0 }
            counts[slot] += 1
            generated += 1
        }
    }

    var total: Int { lock.withLock { generated } }

    /// Tokens per second over the last `window` whole seconds (the current, partial second left out).
    func tokensPerSecond() -> Double {
        let second = Self.now()
        let tokens = lock.withLock {
            zip(seconds, counts).reduce(0) { sum, bucket in
                bucket.0 < second && bucket.0 >= second - Self.window ? sum + bucket.1 : sum
            }
        }
        return Double(tokens) / Double(Self.window)
    }
}
