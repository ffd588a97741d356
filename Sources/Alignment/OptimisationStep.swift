import Foundation
import Model

/// One optimiser step of one adapter (docs/RACO.md, "One training step"): for each micro-batch, one forward of
/// the chosen and rejected sequences gives the margins Δ, the per-objective ∂L_i/∂Δ weight one backward pass that
/// accumulates all k gradients g_i; then H = Gram(g) (`GramMatrix`), the combination coefficients
/// (`GradientCombiner`), d = Σ coef_i g_i, and one AdamW update of θ at the schedule's learning rate.
///
/// Holds the run's optimiser state and its buffers, allocated once: g_i (k × [P]) and d ([P]).
final class OptimisationStep {
    /// What one step measured, for the progress reports and the run's history.
    struct Outcome {
        /// The step's loss per objective: the mean over its batchSize × gradientAccumulation rows.
        let losses: [Double]
        /// Per objective, the fraction of its labelled rows whose margin agrees with the label (nil: none labelled).
        let accuracy: [Double?]
        let meanMargin: Double
        let coefficients: [Double]
        let learningRate: Double
        let tokens: Int
    }

    private let weights: [Double]
    private let hyperparameters: AlignmentHyperparameters
    private let combiner: GradientCombiner
    private let scorer: SequenceScorer<Float>
    private let layout: LoRAParameterLayout
    private var optimiser: AdamW
    private let schedule: LearningRateSchedule
    /// g_i, one [P] vector per objective.
    private let gradients: [UnsafeMutableBufferPointer<Float>]
    /// [P] d, the combined direction.
    private var direction: [Float]

    init(weights: [Double], objectiveCount k: Int, hyperparameters h: AlignmentHyperparameters, combiner: GradientCombiner,
         scorer: SequenceScorer<Float>, layout: LoRAParameterLayout) throws {
        self.weights = weights
        hyperparameters = h
        self.combiner = combiner
        self.scorer = scorer
        self.layout = layout
        optimiser = AdamW(parameterCount: layout.count, weightDecay: h.weightDecay)
        schedule = try LearningRateSchedule(peak: h.learningRate, floor: h.minLearningRate,
                                            warmupSteps: h.warmupSteps, totalSteps: h.steps)
        gradients = (0..<k).map { _ in UnsafeMutableBufferPointer<Float>.allocate(capacity: layout.count) }
        direction = [Float](repeating: 0, count: layout.count)
    }

    deinit { gradients.forEach { $0.deallocate() } }

    /// Step `step` (from 0): draws its micro-batches from `batches`, updates θ in place.
    func run(step: Int, theta: inout [Float], rows: [PreferenceDataset.EncodedRow],
             reference: [(chosen: Double, rejected: Double)], batches: inout BatchOrder,
             control: AlignmentControl) throws -> Outcome {
        let h = hyperparameters, k = gradients.count
        let stepRows = h.batchSize * h.gradientAccumulation
        var stepTokens = 0
        for g in gradients { g.update(repeating: 0) }
        var losses = [Double](repeating: 0, count: k), marginSum = 0.0
        var correct = [Double](repeating: 0, count: k), labelled = [Int](repeating: 0, count: k)
        for _ in 0..<h.gradientAccumulation {
            control.pause()
            if control.isCancelled() { throw AlignmentTrainingError.cancelled }
            let batchIndices = batches.next(h.batchSize)
            let batch = batchIndices.map { rows[$0] }
            // Sequences [A_0, B_0, A_1, B_1, …]
            let pairs = batch.flatMap { [$0.chosen, $0.rejected] }
            let logp = try scorer.forward(pairs, parameters: theta, layout: layout, lengthNormalized: h.lengthNormalized)
            let margins = batch.indices.map { r in
                PreferenceLabelBatch.margin(policyLogProbA: logp[2 * r], policyLogProbB: logp[2 * r + 1],
                                            referenceLogProbA: reference[batchIndices[r]].chosen,
                                            referenceLogProbB: reference[batchIndices[r]].rejected)
            }
            guard margins.allSatisfy(\.isFinite) else { throw AlignmentTrainingError.diverged("non-finite margin at step \(step + 1)") }
            let labels = try PreferenceLabelBatch(rows: batch.map(\.labels))
            let evaluation = try labels.evaluate(margins: margins, beta: h.beta)
            // The step's loss is the mean over all stepRows rows: this micro-batch carries batch.count of them.
            let share = Double(batch.count) / Double(stepRows)
            for i in 0..<k { losses[i] += evaluation.losses[i] * share }
            marginSum += margins.reduce(0, +)
            for (r, row) in batch.enumerated() {
                for i in 0..<k where row.labels[i] != .tie {
                    labelled[i] += 1
                    correct[i] += PreferenceEvaluator.agreement(margins[r], row.labels[i])
                }
            }
            // One backward: seeds ∂Δ/∂logp = +1 (A), −1 (B); objective i scales pair r by ∂L_i/∂Δ_r.
            let seeds = batch.indices.flatMap { _ in [1.0, -1.0] }
            let scales = (0..<k).map { i in batch.indices.flatMap { r -> [Double] in
                let g = evaluation.marginGradients[i][r] * share
                return [g, g]
            } }
            try scorer.backward(seeds, scales: scales, into: gradients)
            stepTokens += batch.reduce(0) { $0 + $1.tokenCount }
        }
        // H, the combination coefficients, d = Σ coef_i g_i (accumulated in Float64), one AdamW step.
        let gram: GramMatrix
        do {
            gram = try GramMatrix(gradients: gradients.map { UnsafeBufferPointer($0) })
        } catch AlignmentError.nonFinite {
            throw AlignmentTrainingError.diverged("non-finite gradient at step \(step + 1)")
        }
        let combination = try combiner.combine(gram: gram, weights: weights)
        Self.combine(gradients, coefficients: combination.coefficients, into: &direction)
        let learningRate = schedule.learningRate(atStep: step)
        try optimiser.step(parameters: &theta, gradient: direction, learningRate: learningRate)

        let accuracy: [Double?] = (0..<k).map { labelled[$0] == 0 ? nil : correct[$0] / Double(labelled[$0]) }
        return Outcome(losses: losses, accuracy: accuracy, meanMargin: marginSum / Double(stepRows),
                       coefficients: combination.coefficients, learningRate: learningRate, tokens: stepTokens)
    }

    /// d = Σ_i coefficients_i g_i, each element summed in Float64 in objective order, rounded once.
    static func combine(_ gradients: [UnsafeMutableBufferPointer<Float>], coefficients: [Double], into d: inout [Float]) {
        d.withUnsafeMutableBufferPointer { out in
            for j in 0..<out.count {
                var sum = 0.0
                for (g, c) in zip(gradients, coefficients) { sum += c * Double(g[j]) }
                out[j] = Float(sum)
            }
        }
    }
}
