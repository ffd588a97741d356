import Prometheus

/// The server's counters, histograms and gauges, kept in swift-prometheus's collector registry and rendered by it as
/// Prometheus text exposition (format 0.0.4) at `/metrics`. Each application has its own registry (tests build many
/// applications in one process, so nothing goes through a process-wide bootstrap). The library's metrics are
/// thread-safe, so request handlers and the scheduler thread record without a lock of ours.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let promptTokens: Counter
    private let generatedTokens: Counter
    private let timeToFirstToken: ValueHistogram
    private let tokenLatency: ValueHistogram
    private let batchSequences: ValueHistogram
    private let batchMixtures: ValueHistogram
    private let mixedMixtureSteps: Counter
    private let stepSeconds: ValueHistogram
    private let queueDepth: Gauge
    private let activeSequences: Gauge
    private let modelLoaded: Gauge

    private static let requestsName = "raconteur_http_requests_total"
    private static let requestsHelp = "HTTP requests answered, by route, method and status."

    init() {
        promptTokens = registry.makeCounter(name: "raconteur_prompt_tokens_total", help: "Prompt tokens of generations that finished.")
        generatedTokens = registry.makeCounter(name: "raconteur_generated_tokens_total", help: "Tokens generated.")
        timeToFirstToken = registry.makeValueHistogram(
            name: "raconteur_time_to_first_token_seconds", buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
            help: "Seconds from request arrival to the first generated token.")
        tokenLatency = registry.makeValueHistogram(
            name: "raconteur_token_latency_seconds", buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
            help: "Seconds between consecutive generated tokens of one sequence.")
        batchSequences = registry.makeValueHistogram(
            name: "raconteur_batch_sequences", buckets: [1, 2, 3, 4, 6, 8, 12, 16, 32, 64],
            help: "Sequences computed together in one scheduler step.")
        batchMixtures = registry.makeValueHistogram(
            name: "raconteur_batch_adapter_mixtures", buckets: [1, 2, 3, 4, 6, 8, 12, 16],
            help: "Different adapter mixtures (the base model counts as one) computed together in one scheduler step.")
        mixedMixtureSteps = registry.makeCounter(
            name: "raconteur_mixed_adapter_steps_total",
            help: "Scheduler steps whose one batched forward pass served at least two different adapter mixtures.")
        stepSeconds = registry.makeValueHistogram(
            name: "raconteur_step_seconds", buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
            help: "Seconds per scheduler step (one batched forward pass).")
        queueDepth = registry.makeGauge(name: "raconteur_queue_depth", help: "Requests waiting for a batch slot.")
        activeSequences = registry.makeGauge(name: "raconteur_active_sequences", help: "Sequences being generated.")
        modelLoaded = registry.makeGauge(name: "raconteur_model_loaded", help: "1 once the model is loaded and serving.")
    }

    func recordRequest(route: String, method: String, status: Int) {
        // The registry returns the existing series for a label set it has seen (PrometheusCollectorRegistry.makeCounter).
        registry.makeCounter(name: Self.requestsName, labels: [("route", route), ("method", method), ("status", String(status))],
                             help: Self.requestsHelp).increment()
    }

    /// The prompt of a finished choice.
    func recordPromptTokens(_ count: Int) {
        promptTokens.increment(by: Int64(count))
    }

    /// One generated token, counted as it arrives so that cancelled generations count too.
    func recordGeneratedToken() {
        generatedTokens.increment()
    }

    /// Seconds from a request's arrival to its first generated token (queueing and prefill included).
    func recordTimeToFirstToken(_ seconds: Double) {
        timeToFirstToken.record(seconds)
    }

    /// Seconds between two consecutive tokens of one sequence.
    func recordTokenLatency(_ seconds: Double) {
        tokenLatency.record(seconds)
    }

    /// One scheduler step: the sequences it computed together, their distinct adapter mixtures, and how long it took.
    func recordStep(sequences: Int, distinctMixtures: Int, seconds: Double) {
        batchSequences.record(Double(sequences))
        batchMixtures.record(Double(distinctMixtures))
        if distinctMixtures > 1 { mixedMixtureSteps.increment() }
        stepSeconds.record(seconds)
    }

    /// The metrics in Prometheus text format; the gauges are set from the scheduler's state read at scrape time.
    func render(queued: Int, active: Int, modelLoaded: Bool) -> String {
        queueDepth.set(to: Double(queued))
        activeSequences.set(to: Double(active))
        self.modelLoaded.set(to: modelLoaded ? 1 : 0)
        return registry.emitToString()
    }
}
