import Foundation

/// The server's counters and histograms, rendered as Prometheus text exposition (format 0.0.4) at `/metrics`.
/// Written from request handlers and the scheduler thread, so every access takes the lock.
final class ServerMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [RequestKey: Int] = [:]
    private var promptTokens = 0
    private var generatedTokens = 0
    private var timeToFirstToken = Histogram(bounds: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])
    private var tokenLatency = Histogram(bounds: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1])
    private var batchSequences = Histogram(bounds: [1, 2, 3, 4, 6, 8, 12, 16, 32, 64])
    private var batchMixtures = Histogram(bounds: [1, 2, 3, 4, 6, 8, 12, 16])
    private var mixedMixtureSteps = 0
    private var stepSeconds = Histogram(bounds: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1])

    private struct RequestKey: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    init() {}

    func recordRequest(route: String, method: String, status: Int) {
        lock.withLock { requests[RequestKey(route: route, method: method, status: status), default: 0] += 1 }
    }

    /// The prompt of a finished choice.
    func recordPromptTokens(_ count: Int) {
        lock.withLock { promptTokens += count }
    }

    /// One generated token, counted as it arrives so that cancelled generations count too.
    func recordGeneratedToken() {
        lock.withLock { generatedTokens += 1 }
    }

    /// Seconds from a request's arrival to its first generated token (queueing and prefill included).
    func recordTimeToFirstToken(_ seconds: Double) {
        lock.withLock { timeToFirstToken.observe(seconds) }
    }

    /// Seconds between two consecutive tokens of one sequence.
    func recordTokenLatency(_ seconds: Double) {
        lock.withLock { tokenLatency.observe(seconds) }
    }

    /// One scheduler step: the sequences it computed together, their distinct adapter mixtures, and how long it took.
    func recordStep(sequences: Int, distinctMixtures: Int, seconds: Double) {
        lock.withLock {
            batchSequences.observe(Double(sequences))
            batchMixtures.observe(Double(distinctMixtures))
            if distinctMixtures > 1 { mixedMixtureSteps += 1 }
            stepSeconds.observe(seconds)
        }
    }

    /// The metrics in Prometheus text format; `gauges` are read at scrape time (queue depth, active sequences).
    func render(queued: Int, active: Int, modelLoaded: Bool) -> String {
        lock.lock()
        defer { lock.unlock() }
        var out = ""
        out += "# HELP raconteur_http_requests_total HTTP requests answered, by route, method and status.\n"
        out += "# TYPE raconteur_http_requests_total counter\n"
        for (key, count) in requests.sorted(by: { ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status) }) {
            out += "raconteur_http_requests_total{route=\"\(Self.escape(key.route))\",method=\"\(key.method)\",status=\"\(key.status)\"} \(count)\n"
        }
        out += Self.counter("raconteur_prompt_tokens_total", "Prompt tokens of generations that finished.", promptTokens)
        out += Self.counter("raconteur_generated_tokens_total", "Tokens generated.", generatedTokens)
        out += timeToFirstToken.render(name: "raconteur_time_to_first_token_seconds",
                                       help: "Seconds from request arrival to the first generated token.")
        out += tokenLatency.render(name: "raconteur_token_latency_seconds",
                                   help: "Seconds between consecutive generated tokens of one sequence.")
        out += batchSequences.render(name: "raconteur_batch_sequences",
                                     help: "Sequences computed together in one scheduler step.")
        out += batchMixtures.render(name: "raconteur_batch_adapter_mixtures",
                                    help: "Different adapter mixtures (the base model counts as one) computed together in one scheduler step.")
        out += Self.counter("raconteur_mixed_adapter_steps_total",
                            "Scheduler steps whose one batched forward pass served at least two different adapter mixtures.",
                            mixedMixtureSteps)
        out += stepSeconds.render(name: "raconteur_step_seconds", help: "Seconds per scheduler step (one batched forward pass).")
        out += Self.gauge("raconteur_queue_depth", "Requests waiting for a batch slot.", queued)
        out += Self.gauge("raconteur_active_sequences", "Sequences being generated.", active)
        out += Self.gauge("raconteur_model_loaded", "1 once the model is loaded and serving.", modelLoaded ? 1 : 0)
        return out
    }

    private static func counter(_ name: String, _ help: String, _ value: Int) -> String {
        "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name) \(value)\n"
    }

    private static func gauge(_ name: String, _ help: String, _ value: Int) -> String {
        "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name) \(value)\n"
    }

    static func escape(_ label: String) -> String {
        label.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}

/// A cumulative Prometheus histogram with fixed upper bounds.
struct Histogram {
    let bounds: [Double]
    private var counts: [Int]
    private var sum = 0.0
    private var count = 0

    init(bounds: [Double]) {
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count)
    }

    mutating func observe(_ value: Double) {
        if let bucket = bounds.firstIndex(where: { value <= $0 }) { counts[bucket] += 1 }
        sum += value
        count += 1
    }

    func render(name: String, help: String) -> String {
        var out = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        var cumulative = 0
        for (bound, n) in zip(bounds, counts) {
            cumulative += n
            out += "\(name)_bucket{le=\"\(Self.format(bound))\"} \(cumulative)\n"
        }
        out += "\(name)_bucket{le=\"+Inf\"} \(count)\n"
        out += "\(name)_sum \(Self.format(sum))\n"
        out += "\(name)_count \(count)\n"
        return out
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
