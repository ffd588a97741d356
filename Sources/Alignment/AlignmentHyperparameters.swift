import Foundation
import Model

/// Everything a training run is configured by. The defaults are those of the SmolLM2-135M experiment in
/// docs/ALIGNMENT.md (32 steps of 4 rows at lr 3e-4: three adapters in about 25 minutes on 2 loaded cores, and
/// clearly different behaviour at the two ends of the grid).
public struct AlignmentHyperparameters: Codable, Sendable, Equatable {
    /// Optimiser steps per weight vector.
    public var steps: Int = 32
    /// Preference rows (each two sequences) per micro-batch.
    public var batchSize: Int = 4
    /// Micro-batches whose gradients are summed into one step (the step's loss is the mean over all its rows).
    public var gradientAccumulation: Int = 1
    /// LoRA rank and alpha (the update is (alpha / rank) · B A).
    public var rank: Int = 16
    public var alpha: Double = 32
    /// Peak learning rate of AdamW (after the warm-up, then cosine decay to `minLearningRate`).
    public var learningRate: Double = 3e-4
    public var minLearningRate: Double = 0
    public var warmupSteps: Int = 3
    /// AdamW's decoupled weight decay λ.
    public var weightDecay: Double = 0
    /// β of the DPO loss (docs/RACO.md, "Per-objective DPO loss").
    public var beta: Double = 0.2
    /// c, the conflict aversion, in [0, 1) (docs/RACO.md, "The CAGrad dual problem").
    public var conflictAversion: Double = 0.4
    /// Fraction of the rows held out for evaluation, in [0, 0.9].
    public var heldOutFraction: Double = 0.2
    /// Seeds the split, the batch order and the LoRA initialisation.
    public var seed: UInt64 = 0
    /// Threads of the training forward/backward.
    public var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    /// The projections that get LoRA matrices (llama.cpp tensor names: attn_q, …, ffn_down).
    public var projections: [String] = Projection.allCases.map(\.rawValue)
    /// Longest prompt + response (in tokens) a sequence may have; longer responses are cut at the end.
    public var maxTokensPerSequence: Int = 256
    /// Divide each sequence's log-prob by its response length (docs/RACO.md, "Per-objective DPO loss"; off by default).
    public var lengthNormalized: Bool = false
    /// Write the adapter under training every this many steps (0: never) when a checkpoint directory is given.
    public var checkpointEvery: Int = 0

    public init() {}

    /// The projections as model enums (validated).
    public func projectionList() throws -> [Projection] {
        try projections.map { name in
            guard let p = Projection(rawValue: name) else {
                throw AlignmentTrainingError.invalidHyperparameter(
                    name: "projections", reason: "'\(name)' is not one of \(Projection.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return p
        }
    }

    /// Throws the first out-of-range value.
    public func validate() throws {
        func check(_ ok: Bool, _ name: String, _ why: String) throws {
            if !ok { throw AlignmentTrainingError.invalidHyperparameter(name: name, reason: why) }
        }
        try check(steps >= 1, "steps", "must be at least 1 (got \(steps))")
        try check(batchSize >= 1, "batch size", "must be at least 1 (got \(batchSize))")
        try check(gradientAccumulation >= 1, "gradient accumulation", "must be at least 1 (got \(gradientAccumulation))")
        try check((1...64).contains(rank), "rank", "must be in 1...64 (got \(rank))")
        try check(alpha.isFinite && alpha > 0, "alpha", "must be positive (got \(alpha))")
        try check(learningRate.isFinite && learningRate > 0 && learningRate < 1, "learning rate", "must be in (0, 1) (got \(learningRate))")
        try check(minLearningRate.isFinite && minLearningRate >= 0 && minLearningRate <= learningRate,
                  "minimum learning rate", "must be in [0, learning rate] (got \(minLearningRate))")
        try check(warmupSteps >= 0 && warmupSteps <= steps, "warm-up steps", "must be in 0...steps (got \(warmupSteps))")
        try check(weightDecay.isFinite && weightDecay >= 0 && weightDecay < 1, "weight decay", "must be in [0, 1) (got \(weightDecay))")
        try check(beta.isFinite && beta > 0, "beta", "must be positive (got \(beta))")
        try check(conflictAversion.isFinite && conflictAversion >= 0 && conflictAversion < 1,
                  "c", "must be in [0, 1) (got \(conflictAversion))")
        try check(heldOutFraction.isFinite && heldOutFraction >= 0 && heldOutFraction <= 0.9,
                  "held-out fraction", "must be in [0, 0.9] (got \(heldOutFraction))")
        try check((1...256).contains(threads), "threads", "must be in 1...256 (got \(threads))")
        try check(!projections.isEmpty, "projections", "at least one is needed")
        try check(Set(projections).count == projections.count, "projections", "repeated name")
        _ = try projectionList()
        try check(maxTokensPerSequence >= 4, "max tokens per sequence", "must be at least 4 (got \(maxTokensPerSequence))")
        try check(checkpointEvery >= 0, "checkpoint interval", "must be at least 0 (got \(checkpointEvery))")
    }
}
