import Foundation

/// The labels of a batch of preference rows, one label per objective per row, and the
/// per-objective DPO algebra on the rows' shared margins Δ (docs/RACO.md, "Per-objective DPO loss"
/// and "One backward pass for all objectives").
///
/// Convention for ties (s_i = 0): the mean over rows runs over **all n rows of the batch**, ties
/// included. A tie row contributes the constant −log σ(0) = log 2 to L_i and nothing to its
/// gradient, and the per-row weights are divided by the same n, so the loss and its derivative
/// agree. One consequence: an objective that labels few rows gets a proportionally smaller gradient
/// on that batch; `labelledRowCounts` lets a caller rescale if it wants a per-labelled-row mean
/// instead.
public struct PreferenceLabelBatch: Sendable, Equatable {
    public let rowCount: Int
    public let objectiveCount: Int
    /// Row-major: `labels[row * objectiveCount + objective]`.
    public let labels: [PreferenceLabel]

    /// `rows[r][i]` is objective i's label on row r; every row must have the same length.
    public init(rows: [[PreferenceLabel]]) throws {
        guard let first = rows.first else {
            throw AlignmentError.countMismatch(expected: 1, actual: 0, what: "preference rows")
        }
        guard !first.isEmpty else { throw AlignmentError.noObjectives }
        for row in rows where row.count != first.count {
            throw AlignmentError.countMismatch(expected: first.count, actual: row.count, what: "labels in a row")
        }
        rowCount = rows.count
        objectiveCount = first.count
        labels = rows.flatMap { $0 }
    }

    public func label(row: Int, objective: Int) -> PreferenceLabel {
        labels[row * objectiveCount + objective]
    }

    /// The shared margin of one row (docs/RACO.md, "Per-objective DPO loss"):
    /// Δ = [log π_θ(A|x) − log π_θ(B|x)] − [log π_ref(A|x) − log π_ref(B|x)].
    public static func margin(
        policyLogProbA: Double, policyLogProbB: Double,
        referenceLogProbA: Double, referenceLogProbB: Double
    ) -> Double {
        (policyLogProbA - policyLogProbB) - (referenceLogProbA - referenceLogProbB)
    }

    /// Losses, accuracies and per-row loss gradients of every objective at the given margins.
    /// - Parameters:
    ///   - margins: Δ_row for each row (policy minus reference log-ratio), `rowCount` of them.
    ///   - beta: β of the DPO loss (0.2 by default in `AlignmentHyperparameters`).
    public func evaluate(margins: [Double], beta: Double) throws -> DPOObjectiveEvaluation {
        guard margins.count == rowCount else {
            throw AlignmentError.countMismatch(expected: rowCount, actual: margins.count, what: "margins")
        }
        guard beta.isFinite, beta > 0 else { throw AlignmentError.invalidBeta(beta) }
        guard margins.allSatisfy(\.isFinite) else { throw AlignmentError.nonFinite("margin") }

        let n = Double(rowCount)
        var losses = [Double](repeating: 0, count: objectiveCount)
        var correct = [Int](repeating: 0, count: objectiveCount)
        var labelled = [Int](repeating: 0, count: objectiveCount)
        var marginGradients = [[Double]](
            repeating: [Double](repeating: 0, count: rowCount), count: objectiveCount)

        for row in 0..<rowCount {
            let delta = margins[row]
            for objective in 0..<objectiveCount {
                let s = label(row: row, objective: objective).sign
                let z = beta * s * delta
                // L_i = − mean over rows of log σ(β · s_i · Δ), with
                // log σ(z) = −softplus(−z). A tie (s = 0) adds log 2 here and 0 below.
                losses[objective] -= StableLogistic.logSigmoid(z) / n
                // ∂L_i/∂Δ_row = −β · s_i · σ(−β · s_i · Δ_row) / n.
                marginGradients[objective][row] = -beta * s * StableLogistic.sigmoid(-z) / n
                if s != 0 {
                    labelled[objective] += 1
                    // Preference accuracy: sign(Δ) agrees with s_i (Δ = 0 counts as a miss).
                    if (delta > 0 && s > 0) || (delta < 0 && s < 0) { correct[objective] += 1 }
                }
            }
        }
        let accuracies: [Double?] = (0..<objectiveCount).map { i in
            labelled[i] == 0 ? nil : Double(correct[i]) / Double(labelled[i])
        }
        return DPOObjectiveEvaluation(
            losses: losses, accuracies: accuracies, labelledRowCounts: labelled,
            marginGradients: marginGradients)
    }
}

/// What `PreferenceLabelBatch.evaluate` returns, indexed by objective i.
public struct DPOObjectiveEvaluation: Sendable, Equatable {
    /// L_i = −(1/n) Σ_rows log σ(β s_i Δ_row), n = all rows of the batch (ties included).
    public let losses: [Double]
    /// Fraction of the rows with s_i ≠ 0 whose sign(Δ) equals s_i; nil when objective i labels no row.
    public let accuracies: [Double?]
    /// Number of rows with s_i ≠ 0.
    public let labelledRowCounts: [Int]
    /// `marginGradients[i][row]` = ∂L_i/∂Δ_row = −β s_i σ(−β s_i Δ_row) / n: the per-row weights
    /// of the backward pass that yields g_i (docs/RACO.md, "One backward pass for all objectives").
    public let marginGradients: [[Double]]
}
