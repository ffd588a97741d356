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
        try require(["raco", "cagrad", "dpo-lw"].contains(method), "method must be raco, cagrad or dpo-lw")
        try require(gridPoints >= 2, "grid_points must be at least 2")
        try require(training.steps >= 1, "steps must be at least 1")
        try require(minPairs >= 2, "min_pairs must be at least 2")
        try require(autoAfterPairs >= 0, "auto_after_pairs must be 0 (off) or more")
        try require(training.threads >= 1, "threads must be at least 1")
        try require(maxPauseSeconds >= 0, "max_pause must be 0 or more")
    }
}
