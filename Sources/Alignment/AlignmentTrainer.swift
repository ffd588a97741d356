import Adapters
import Foundation
import Model
import Tokenizers

/// Hooks the caller checks training with, between micro-batches.
public struct AlignmentControl: Sendable {
    /// Returning true stops training with `AlignmentTrainingError.cancelled`.
    public var isCancelled: @Sendable () -> Bool
    /// Called before every micro-batch; the server blocks in it while live requests need the cores.
    public var pause: @Sendable () -> Void

    public init(isCancelled: @escaping @Sendable () -> Bool = { false }, pause: @escaping @Sendable () -> Void = {}) {
        self.isCancelled = isCancelled
        self.pause = pause
    }
}

/// The trained adapters (one per weight vector, in order) and the report.
public struct AlignmentResult: @unchecked Sendable {
    public let adapters: [LoRAAdapter]
    public let report: AlignmentReport
}

/// Trains LoRA adapters with RACO (or its baselines) on preference rows, one adapter per weight vector, from three
/// parts: the data and its split (`PreferenceDataset`), the optimiser step (`OptimisationStep`) and the held-out
/// evaluation (`PreferenceEvaluator`). Reference log-probs are computed once per row.
///
/// Not thread-safe: one `train` at a time. Everything is deterministic for a given seed, data and thread count.
public final class AlignmentTrainer: @unchecked Sendable {
    public let objectives: [String]
    public let method: CombinationMethod
    public let hyperparameters: AlignmentHyperparameters
    public let model: TransformerModel

    /// The tokenized rows and their split into training and held-out rows.
    let data: PreferenceDataset
    var rows: [PreferenceDataset.EncodedRow] { data.rows }
    var trainIndices: [Int] { data.trainIndices }
    var heldOutIndices: [Int] { data.heldOutIndices }
    var skippedRows: Int { data.skippedRows }
    let projections: [Projection]
    let scorer: SequenceScorer<Float>
    /// Reference log-probabilities and held-out evaluation, on the same scorer.
    let evaluator: PreferenceEvaluator
    let combiner: GradientCombiner
    /// Base-model log-probs of every row's (chosen, rejected), computed on first use.
    private var baseReference: [(chosen: Double, rejected: Double)]?

    /// Tokenizes and validates the rows, splits them (deterministically by seed) and dequantises the model for
    /// training (SmolLM2: about 540 MB). `chatTemplate`: the template the prompts were rendered with; each response
    /// is closed with the token it ends an assistant turn with (`ChatTemplate.endOfTurnID`), else the family's.
    public init(model: TransformerModel, tokenizer: Tokenizer, objectives: [String], method: CombinationMethod,
                hyperparameters: AlignmentHyperparameters, records: [PreferenceRecord], chatTemplate: ChatTemplate? = nil) throws {
        try hyperparameters.validate()
        try Self.validate(objectives: objectives, records: records)
        self.objectives = objectives
        self.method = method
        self.hyperparameters = hyperparameters
        self.model = model
        projections = try hyperparameters.projectionList()
        combiner = try GradientCombiner(method: method, conflictAversion: hyperparameters.conflictAversion)

        data = try PreferenceDataset(records: records, objectives: objectives, tokenizer: tokenizer,
                                     vocabularySize: model.config.vocabularySize, hyperparameters: hyperparameters,
                                     endOfTurnID: chatTemplate?.endOfTurnID(tokenizer: tokenizer))
        scorer = SequenceScorer<Float>(model: model, threads: hyperparameters.threads)
        evaluator = PreferenceEvaluator(data: data, scorer: scorer, hyperparameters: hyperparameters, objectiveCount: objectives.count)
    }

    public var trainRowCount: Int { trainIndices.count }
    public var heldOutRowCount: Int { heldOutIndices.count }

    /// Objectives must be distinct names usable in file names, and each must be labelled by some row.
    static func validate(objectives: [String], records: [PreferenceRecord]) throws {
        if let problem = ObjectiveName.problem(with: objectives) { throw AlignmentTrainingError.invalidObjectives(problem) }
        guard !records.isEmpty else { throw AlignmentTrainingError.notEnoughData("no preference rows") }
        for name in objectives where !records.contains(where: { ($0.labels[name] ?? 0) != 0 }) {
            throw AlignmentTrainingError.invalidObjectives("no row labels '\(name)' with 1 or -1")
        }
    }

    /// `w` divided by its sum. Throws for a wrong count, a negative or non-finite entry, or a sum that is zero or
    /// not finite (finite weights can sum past the largest Double, 1e308 twice; w / ∞ would be a zero vector).
    public static func normalised(weights w: [Double], objectiveCount k: Int) throws -> [Double] {
        guard w.count == k else { throw AlignmentTrainingError.invalidWeights("\(w.count) weights for \(k) objectives") }
        guard w.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw AlignmentTrainingError.invalidWeights("\(w) has a negative or non-finite entry")
        }
        let sum = w.reduce(0, +)
        guard sum > 0 else { throw AlignmentTrainingError.invalidWeights("\(w) sums to 0") }
        guard sum.isFinite else { throw AlignmentTrainingError.invalidWeights("\(w) sums to more than the largest number") }
        return w.map { $0 / sum }
    }

    /// `<obj1><w1>-<obj2><w2>….gguf`, weights with two decimals: `concise0.75-detailed0.25.gguf`.
    public static func adapterFileName(objectives: [String], weights: [Double]) -> String {
        zip(objectives, weights).map { $0 + String(format: "%.2f", $1) }.joined(separator: "-") + ".gguf"
    }

    /// The metadata an adapter trained for `weights` carries.
    public func metadata(weights: [Double], version: Int = 1) -> AdapterMetadata {
        AdapterMetadata(objectives: objectives, weights: weights, method: method.rawValue, version: version,
                        baseFingerprint: BaseModelFingerprint.of(model.file))
    }

    /// Writes every adapter of `result` into `directory` (created if needed) under `adapterFileName`, atomically.
    /// Returns the paths.
    @discardableResult
    public func writeAdapters(_ result: AlignmentResult, to directory: String, version: Int = 1) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try zip(result.adapters, result.report.runs).map { adapter, run in
            let path = (directory as NSString).appendingPathComponent(run.fileName)
            try AdapterFile.write(adapter, metadata: metadata(weights: run.weights, version: version),
                                  architecture: model.config.architecture.rawValue, to: path)
            return path
        }
    }

    // MARK: Training

    /// Trains one adapter per weight vector (each normalised onto the simplex), sequentially. `initialAdapters[j]`
    /// (when given and non-nil) is both the starting point and the reference policy of weight vector j; otherwise
    /// training starts from a fresh adapter (B = 0) and the reference is the base model. `checkpointDirectory`
    /// receives `<file name>.checkpoint.gguf` every `hyperparameters.checkpointEvery` steps.
    public func train(weights: [[Double]], initialAdapters: [LoRAAdapter?]? = nil, checkpointDirectory: String? = nil,
                      control: AlignmentControl = AlignmentControl(),
                      progress: (AlignmentProgress) -> Void = { _ in }) throws -> AlignmentResult {
        guard !weights.isEmpty else { throw AlignmentTrainingError.invalidWeights("no weight vector") }
        let grid = try weights.map { try Self.normalised(weights: $0, objectiveCount: objectives.count) }
        if let initialAdapters, initialAdapters.count != grid.count {
            throw AlignmentTrainingError.invalidWeights("\(initialAdapters.count) initial adapters for \(grid.count) weight vectors")
        }
        var adapters = [LoRAAdapter](), runs = [AlignmentRunReport](), parameterCount = 0
        for (index, w) in grid.enumerated() {
            let (adapter, run) = try trainOne(weights: w, index: index, count: grid.count,
                                              initial: initialAdapters?[index] ?? nil,
                                              checkpointDirectory: checkpointDirectory, control: control, progress: progress)
            adapters.append(adapter)
            runs.append(run)
            parameterCount = adapter.parameterCount
        }
        let labelled = Dictionary(uniqueKeysWithValues: objectives.enumerated().map { i, name in
            (name, rows.filter { $0.labels[i] != .tie }.count)
        })
        let report = AlignmentReport(
            method: method.rawValue, objectives: objectives, hyperparameters: hyperparameters,
            rows: rows.count + skippedRows, trainRows: trainIndices.count, heldOutRows: heldOutIndices.count,
            skippedRows: skippedRows, labelledRows: labelled, parameterCount: parameterCount, runs: runs)
        return AlignmentResult(adapters: adapters, report: report)
    }

    private func trainOne(weights w: [Double], index: Int, count: Int, initial: LoRAAdapter?,
                          checkpointDirectory: String?, control: AlignmentControl,
                          progress: (AlignmentProgress) -> Void) throws -> (LoRAAdapter, AlignmentRunReport) {
        let h = hyperparameters, k = objectives.count, config = model.config
        let runStart = Date()
        let startAdapter = initial ?? LoRAAdapter.initialised(config: config, rank: h.rank, alpha: Float(h.alpha),
                                                              projections: projections, seed: h.seed)
        let layout = LoRAParameterLayout(adapter: startAdapter)
        var theta = layout.flatten(startAdapter)   // [P] θ, updated in place by AdamW
        let reference = try initial.map { _ in try evaluator.logProbabilities(rows: Array(rows.indices), parameters: theta, layout: layout) }
            ?? baseReferenceLogProbabilities()
        let fileName = Self.adapterFileName(objectives: objectives, weights: w)

        // Held-out before training: Δ ≡ 0 (the policy is the reference), so losses are log 2 and accuracy ½.
        let before = try evaluator.evaluate(parameters: nil, layout: layout, reference: reference)

        let optimisation = try OptimisationStep(weights: w, objectiveCount: k, hyperparameters: h, combiner: combiner,
                                                scorer: scorer, layout: layout)
        var batches = BatchOrder(indices: trainIndices, seed: h.seed)
        var history = [(losses: [Double], accuracy: [Double?], margin: Double)]()
        var trainingSeconds = 0.0, trainingTokens = 0
        for step in 0..<h.steps {
            let stepStart = Date()
            let outcome = try optimisation.run(step: step, theta: &theta, rows: rows, reference: reference,
                                               batches: &batches, control: control)

            if let directory = checkpointDirectory, h.checkpointEvery > 0, (step + 1) % h.checkpointEvery == 0 {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let path = (directory as NSString).appendingPathComponent(
                    (fileName as NSString).deletingPathExtension + ".checkpoint.gguf")
                try AdapterFile.write(layout.makeAdapter(theta, layerCount: config.blockCount),
                                      metadata: metadata(weights: w), architecture: config.architecture.rawValue, to: path)
            }

            let seconds = Date().timeIntervalSince(stepStart)
            trainingSeconds += seconds
            trainingTokens += outcome.tokens
            history.append((outcome.losses, outcome.accuracy, outcome.meanMargin))
            progress(AlignmentProgress(
                weightIndex: index, weightCount: count, weights: w, step: step + 1, totalSteps: h.steps,
                losses: byObjective(outcome.losses), accuracies: byObjective(outcome.accuracy),
                meanMargin: outcome.meanMargin, coefficients: outcome.coefficients, learningRate: outcome.learningRate,
                tokensPerSecond: Double(outcome.tokens) / max(seconds, 1e-9),
                elapsedSeconds: Date().timeIntervalSince(runStart)))
        }

        let after = try evaluator.evaluate(parameters: theta, layout: layout, reference: reference)
        let tail = history.suffix(max(1, h.steps / 10))
        let finalLoss = (0..<k).map { i in tail.reduce(0) { $0 + $1.losses[i] } / Double(tail.count) }
        let run = AlignmentRunReport(
            weights: w, fileName: fileName, steps: h.steps,
            initialTrainLoss: byObjective(history[0].losses), finalTrainLoss: byObjective(finalLoss),
            heldOutLossBefore: byObjective(before.losses), heldOutLossAfter: byObjective(after.losses),
            heldOutAccuracyBefore: byObjective(before.accuracies), heldOutAccuracyAfter: byObjective(after.accuracies),
            heldOutLogRatioAccuracyBefore: byObjective(before.logRatioAccuracies),
            heldOutLogRatioAccuracyAfter: byObjective(after.logRatioAccuracies),
            heldOutMeanMargin: after.meanMargin,
            trainMeanMargin: tail.reduce(0) { $0 + $1.margin } / Double(tail.count),
            tokensPerSecond: Double(trainingTokens) / max(trainingSeconds, 1e-9),
            seconds: Date().timeIntervalSince(runStart))
        return (layout.makeAdapter(theta, layerCount: config.blockCount), run)
    }

    // MARK: Helpers

    private func byObjective(_ values: [Double]) -> [String: Double] {
        Dictionary(uniqueKeysWithValues: zip(objectives, values).map { ($0, $1) })
    }

    private func byObjective(_ values: [Double?]) -> [String: Double] {
        var out = [String: Double]()
        for (name, value) in zip(objectives, values) { if let value { out[name] = value } }
        return out
    }

    private func baseReferenceLogProbabilities() throws -> [(chosen: Double, rejected: Double)] {
        if let baseReference { return baseReference }
        let values = try evaluator.logProbabilities(rows: Array(rows.indices), parameters: nil, layout: nil)
        baseReference = values
        return values
    }
}

/// An endless seeded sequence of training-row indices: each epoch is a fresh shuffle of all of them.
struct BatchOrder {
    let indices: [Int]
    var random: SplitMix64
    var order: [Int] = []
    var position = 0

    init(indices: [Int], seed: UInt64) {
        self.indices = indices
        random = SplitMix64(seed: seed ^ 0xBA7C_4E5)
    }

    mutating func next(_ count: Int) -> [Int] {
        (0..<count).map { _ in
            if position == order.count {
                order = indices
                random.shuffle(&order)
                position = 0
            }
            position += 1
            return order[position - 1]
        }
    }
}

/// SplitMix64 with a Fisher–Yates shuffle that does not depend on the standard library's algorithms.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func shuffle(_ a: inout [Int]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            a.swapAt(i, j)
        }
    }
}
