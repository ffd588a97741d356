import Adapters
import Alignment

/// How the server re-aligns its adapters from feedback (`[realign]` in the configuration). A `POST /v1/realign`
/// body overrides any of these for its job.
public struct RealignSettings: Sendable, Equatable {
    /// `raco`, `cagrad` or `dpo-lw`.
    public var method: String = "raco"
    /// Points of the weight grid for two objectives: (1, 0), …, (0, 1) evenly; more objectives: the simplex's
    /// vertices and its centre.
    public var gridPoints: Int = 5
    /// A job refuses to start with fewer preference pairs than this.
    public var minPairs: Int = 16
    /// Start a job on its own once this many pairs arrived since the last job (0: only on request).
    public var autoAfterPairs: Int = 0
    /// Longest wait, in seconds, for live requests to finish before the next training micro-batch runs anyway.
    public var maxPauseSeconds: Double = 2
    /// The trainer's hyper-parameters for each grid point. The server's defaults differ from the offline
    /// `raconteur align` ones: one training thread (serving keeps the other cores), 40 steps at 5e-4, answers cut
    /// at 192 tokens. The LoRA alpha follows the rank (2 × rank) and warm-up is at most a fifth of the steps.
    public var training: AlignmentHyperparameters = {
        var h = AlignmentHyperparameters()
        h.threads = 1
        h.steps = 40
        h.learningRate = 5e-4
        h.maxTokensPerSequence = 192
        return h
    }()

    /// Train a starter grid at start-up when the adapters directory is empty and a bundled preference set fits the
    /// model and objectives (`StarterGrid`; `--no-starter` turns it off).
    public var starter: Bool = true
    /// Optimiser steps per weight vector of the starter job (`StarterGrid.settings`).
    public var starterSteps: Int = StarterGrid.defaultSteps

    public init() {}

    /// The default grid over `objectives`.
    public func grid(objectives: Int) -> [[Double]] {
        if objectives == 2 {
            let n = max(2, gridPoints)
            return (0..<n).map { i in
                let w = Double(n - 1 - i) / Double(n - 1)
                return [w, 1 - w]
            }
        }
        var vertices = (0..<objectives).map { i in (0..<objectives).map { $0 == i ? 1.0 : 0.0 } }
        vertices.append(Array(repeating: 1 / Double(objectives), count: objectives))
        return vertices
    }

    func validate() throws {
        func require(_ condition: Bool, _ message: String) throws {
            if !condition { throw ConfigurationError("realign.\(message)") }
        }
        do {
            var copy = self
            try RealignOverrides(self).apply(to: &copy)
        } catch {
            throw ConfigurationError("realign.\(error.field): \(error.message)")
        }
        try require((2...16).contains(gridPoints), "grid_points must be in 2...16")
        try require((0...1_000_000).contains(autoAfterPairs), "auto_after_pairs must be 0 (off) to 1000000")
        try require((1...256).contains(training.threads), "threads must be in 1...256")
        try require(maxPauseSeconds.isFinite && (0...3600).contains(maxPauseSeconds), "max_pause must be in 0...3600 seconds")
        try require((4...65_536).contains(training.maxTokensPerSequence), "max_tokens must be in 4...65536")
        try require((1...10_000).contains(starterSteps), "starter_steps must be in 1...10000")
    }
}

/// The settings a job may choose for itself: a `POST /v1/realign` body overrides them for its job, the `[realign]`
/// section sets their defaults. Both go through `apply`, so both accept the same values.
struct RealignOverrides: Codable, Sendable {
    var method: String?
    var steps: Int?
    var minPairs: Int?
    var learningRate: Double?
    var beta: Double?
    var c: Double?
    var rank: Int?
    var batchSize: Int?
    var heldOut: Double?
    var seed: Int?

    private enum CodingKeys: String, CodingKey {
        case method, steps, beta, c, rank, seed
        case minPairs = "min_pairs", learningRate = "learning_rate", batchSize = "batch_size", heldOut = "held_out"
    }

    static let integerFields = ["steps", "min_pairs", "rank", "batch_size", "seed"]

    init(method: String? = nil, steps: Int? = nil, minPairs: Int? = nil, learningRate: Double? = nil,
         beta: Double? = nil, c: Double? = nil, rank: Int? = nil, batchSize: Int? = nil, heldOut: Double? = nil,
         seed: Int? = nil) {
        (self.method, self.steps, self.minPairs, self.learningRate, self.beta) = (method, steps, minPairs, learningRate, beta)
        (self.c, self.rank, self.batchSize, self.heldOut, self.seed) = (c, rank, batchSize, heldOut, seed)
    }

    /// Every value of `settings` (to check settings made in code).
    init(_ s: RealignSettings) {
        self.init(method: s.method, steps: s.training.steps, minPairs: s.minPairs, learningRate: s.training.learningRate,
                  beta: s.training.beta, c: s.training.conflictAversion, rank: s.training.rank,
                  batchSize: s.training.batchSize, heldOut: s.training.heldOutFraction,
                  seed: Int(clamping: s.training.seed))
    }

    /// A value outside its range: `field` is its name in the API and the configuration file.
    struct Invalid: Error {
        let field: String
        let message: String
    }

    /// Sets the given values on `settings`, each checked first.
    func apply(to s: inout RealignSettings) throws(Invalid) {
        if let method {
            guard CombinationMethod(rawValue: method) != nil else {
                throw Invalid(field: "method", message: "'\(method)' is not a method; use raco, cagrad or dpo-lw.")
            }
            s.method = method
        }
        func check<T: Comparable>(_ value: T?, _ field: String, _ range: ClosedRange<T>, set: (T) -> Void) throws(Invalid) {
            guard let value else { return }
            guard range.contains(value) else {
                throw Invalid(field: field, message: "\(value) is outside \(range.lowerBound)...\(range.upperBound).")
            }
            set(value)
        }
        try check(steps, "steps", 1...10_000) { s.training.steps = $0 }
        try check(minPairs, "min_pairs", 2...1_000_000) { s.minPairs = $0 }
        try check(learningRate, "learning_rate", 1e-7...1) { s.training.learningRate = $0 }
        try check(beta, "beta", 1e-3...100) { s.training.beta = $0 }
        try check(c, "c", 0...0.999) { s.training.conflictAversion = $0 }
        try check(rank, "rank", 1...AdapterFile.maxRank) { s.training.rank = $0 }
        try check(batchSize, "batch_size", 1...64) { s.training.batchSize = $0 }
        try check(heldOut, "held_out", 0...0.9) { s.training.heldOutFraction = $0 }
        try check(seed, "seed", 0...Int.max) { s.training.seed = UInt64($0) }
    }
}
