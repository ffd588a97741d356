import Foundation

/// What the trainer reports after each optimiser step (to the progress callback; the server shows the latest one).
public struct AlignmentProgress: Codable, Sendable {
    /// Which weight vector of the grid is training (0-based) and how many there are.
    public let weightIndex: Int
    public let weightCount: Int
    public let weights: [Double]
    /// Steps completed for this weight vector (1-based) out of `totalSteps`.
    public let step: Int
    public let totalSteps: Int
    /// Per objective, the DPO loss L_i on this step's rows.
    public let losses: [String: Double]
    /// Per objective, the fraction of this step's labelled rows whose margin Δ has the label's sign (ties half).
    public let accuracies: [String: Double]
    /// Mean of Δ over this step's rows.
    public let meanMargin: Double
    /// Coefficients of the g_i in the update direction d.
    public let coefficients: [Double]
    public let learningRate: Double
    /// Forward + backward tokens of this step per second of its wall time.
    public let tokensPerSecond: Double
    /// Seconds since this weight vector started training.
    public let elapsedSeconds: Double
}

/// How the training of one weight vector went.
public struct AlignmentRunReport: Codable, Sendable {
    public var weights: [Double]
    /// The adapter's file name (`AlignmentTrainer.adapterFileName`).
    public var fileName: String
    public var steps: Int
    /// Per objective: the DPO loss on the first step's rows, and its mean over the last tenth of the steps.
    public var initialTrainLoss: [String: Double]
    public var finalTrainLoss: [String: Double]
    /// Held-out DPO loss and preference accuracy (sign of Δ against the label; Δ = 0 counts half, so training
    /// starts from exactly 0.5 with Δ ≡ 0) before and after training. Empty when nothing is held out.
    public var heldOutLossBefore: [String: Double]
    public var heldOutLossAfter: [String: Double]
    public var heldOutAccuracyBefore: [String: Double]
    public var heldOutAccuracyAfter: [String: Double]
    /// Held-out accuracy of the raw log-ratio log π(A|x) − log π(B|x) (no reference subtracted), under the
    /// reference and under the trained adapter: whether the model itself ranks the pair as the objective does.
    public var heldOutLogRatioAccuracyBefore: [String: Double]
    public var heldOutLogRatioAccuracyAfter: [String: Double]
    /// Mean Δ over the held-out rows after training, and over the last tenth of the training steps' rows.
    public var heldOutMeanMargin: Double
    public var trainMeanMargin: Double
    /// Forward + backward tokens per second over the training steps, and the wall time of the whole run.
    public var tokensPerSecond: Double
    public var seconds: Double
}

/// The whole grid's report (`report.json` of `raconteur align`).
public struct AlignmentReport: Codable, Sendable {
    public var method: String
    public var objectives: [String]
    public var hyperparameters: AlignmentHyperparameters
    /// Rows read, rows used for training and held out, rows skipped (too long for `maxTokensPerSequence`).
    public var rows: Int
    public var trainRows: Int
    public var heldOutRows: Int
    public var skippedRows: Int
    /// Per objective, how many rows label it ±1 (the rest are ties).
    public var labelledRows: [String: Int]
    public var parameterCount: Int
    public var runs: [AlignmentRunReport]

    /// Pretty-printed JSON with sorted keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
