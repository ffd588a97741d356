import Foundation
import Prometheus

/// The server's counters, histograms and gauges, kept in swift-prometheus's collector registry and rendered by it as
/// Prometheus text exposition (format 0.0.4) at `/metrics`. Each application has its own registry (tests build many
/// applications in one process, so nothing goes through a process-wide bootstrap). The library's metrics are
/// thread-safe, so request handlers and the scheduler thread record without a lock of ours.
final class ServerMetrics: @unchecked Sendable {
    let registry = PrometheusCollectorRegistry()
    /// The per-version series written at the last scrape, so those of versions gone since are removed.
    private let versionLock = NSLock()
    private var versionSeries: [String: Gauge] = [:]
    /// Adapter names labelled in `/metrics` (with at most keep_versions + 1 versions each, see
    /// `AdapterCatalog.metricVersions`), and objectives per version: the label sets stay bounded.
    static let maxAdapterNames = 64
    static let maxObjectives = 16
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
    /// The recent rate `GET /v1/status` reports (a Prometheus counter's rate is the scraper's to compute).
    let throughput = TokenThroughput()

    init() {
        promptTokens = registry.makeCounter(descriptor: Self.named("prompt_tokens", "total",
                                                                   help: "Prompt tokens of generations that finished."))
        generatedTokens = registry.makeCounter(descriptor: Self.named("generated_tokens", "total", help: "Tokens generated."))
        timeToFirstToken = registry.makeValueHistogram(
            descriptor: Self.named("time_to_first_token", "seconds", help: "Seconds from request arrival to the first generated token."),
            buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])
        tokenLatency = registry.makeValueHistogram(
            descriptor: Self.named("token_latency", "seconds", help: "Seconds between consecutive generated tokens of one sequence."),
            buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1])
        batchSequences = registry.makeValueHistogram(
            descriptor: Self.named("batch_sequences", help: "Sequences computed together in one scheduler step."),
            buckets: [1, 2, 3, 4, 6, 8, 12, 16, 32, 64])
        batchMixtures = registry.makeValueHistogram(
            descriptor: Self.named("batch_adapter_mixtures",
                                   help: "Different adapter mixtures (the base model counts as one) computed together in one scheduler step."),
            buckets: [1, 2, 3, 4, 6, 8, 12, 16])
        mixedMixtureSteps = registry.makeCounter(descriptor: Self.named(
            "mixed_adapter_steps", "total",
            help: "Scheduler steps whose one batched forward pass served at least two different adapter mixtures."))
        stepSeconds = registry.makeValueHistogram(
            descriptor: Self.named("step", "seconds", help: "Seconds per scheduler step (one batched forward pass)."),
            buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1])
        queueDepth = registry.makeGauge(descriptor: Self.named("queue_depth", help: "Requests waiting for a batch slot."))
        activeSequences = registry.makeGauge(descriptor: Self.named("active_sequences", help: "Sequences being generated."))
        modelLoaded = registry.makeGauge(descriptor: Self.named("model_loaded", help: "1 once the model is loaded and serving."))
    }

    /// `raconteur_<name>[_<unit>]` with its HELP text (the descriptor form is the registry's non-deprecated API;
    /// an empty unit is left out of the name).
    private static func named(_ name: String, _ unit: String = "", help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "raconteur", metricName: name, unitName: unit, helpText: help)
    }

    func recordRequest(route: String, method: String, status: Int) {
        // The registry returns the existing series for a label set it has seen (PrometheusCollectorRegistry.makeCounter).
        registry.makeCounter(descriptor: Self.named("http_requests", "total", help: "HTTP requests answered, by route, method and status."),
                             labels: [("route", route), ("method", method), ("status", String(status))]).increment()
    }

    /// The prompt of a finished choice.
    func recordPromptTokens(_ count: Int) {
        promptTokens.increment(by: Int64(count))
    }

    /// One generated token, counted as it arrives so that cancelled generations count too.
    func recordGeneratedToken() {
        generatedTokens.increment()
        throughput.record()
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

    /// Per adapter version (`AdapterCatalog.metricVersions`, read from the store at each scrape): whether it is served,
    /// the stored completions and tokens it generated, and per objective the win rate of the feedback pairs on them.
    /// Series of versions no longer listed (pruned, unloaded) are unregistered.
    func setAdapterVersions(_ entries: [AdapterCatalog.VersionEntry]) {
        versionLock.withLock {
            var fresh: [String: Gauge] = [:]
            func set(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
                let key = ([name] + labels.map { "\($0.0)=\($0.1)" }).joined(separator: "\u{1}")
                let gauge = versionSeries[key] ?? registry.makeGauge(descriptor: Self.named(name, help: help), labels: labels)
                gauge.set(to: value)
                fresh[key] = gauge
            }
            for entry in entries {
                let labels = [("adapter", entry.record.name), ("version", String(entry.record.version))]
                set("adapter_version_served", "1 for the version served under its name, 0 for the other versions kept.", labels,
                    entry.served ? 1 : 0)
                set("adapter_version_completions", "Stored completions whose adapter mixture held this version.", labels,
                    Double(entry.quality.completions))
                set("adapter_version_completion_tokens", "Generated tokens of those completions.", labels,
                    Double(entry.quality.completionTokens))
                for (objective, tally) in entry.quality.objectives.sorted(by: { $0.key < $1.key }).prefix(Self.maxObjectives) {
                    guard let rate = tally.winRate else { continue }
                    set("adapter_version_win_rate", "Share of decided feedback pairs on this version's completions whose label preferred them, per objective.",
                        labels + [("objective", objective)], rate)
                }
            }
            for (key, gauge) in versionSeries where fresh[key] == nil { registry.unregisterGauge(gauge) }
            versionSeries = fresh
        }
    }

    /// The metrics in Prometheus text format; the gauges are set from the scheduler's state read at scrape time.
    func render(queued: Int, active: Int, modelLoaded: Bool) -> String {
        queueDepth.set(to: Double(queued))
        activeSequences.set(to: Double(active))
        self.modelLoaded.set(to: modelLoaded ? 1 : 0)
        return registry.emitToString()
    }
}
