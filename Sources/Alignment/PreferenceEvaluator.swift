import Model

/// What a trainer measures without training: the log-probabilities of rows' chosen and rejected responses under the
/// reference or the current parameters, and the held-out losses and accuracies (docs/RACO.md, "One training step"
/// and "What is tested"). Forward passes only, in chunks of 2 × batch size sequences.
struct PreferenceEvaluator {
    let data: PreferenceDataset
    let scorer: SequenceScorer<Float>
    let hyperparameters: AlignmentHyperparameters
    let objectiveCount: Int

    /// What `evaluate` reports, one entry per objective (empty without held-out rows).
    struct Evaluation {
        var losses: [Double]
        /// Share of held-out rows whose DPO margin Δ has the label's sign (½ for Δ = 0).
        var accuracies: [Double?]
        /// The same for the policy's own log-ratio log π(A) − log π(B), without the reference.
        var logRatioAccuracies: [Double?]
        var meanMargin: Double
    }

    /// log π(A|x), log π(B|x) of `rows` (indices into the dataset) under `parameters` (nil: the base model).
    func logProbabilities(rows indices: [Int], parameters: [Float]?, layout: LoRAParameterLayout?) throws
        -> [(chosen: Double, rejected: Double)] {
        var out = [(chosen: Double, rejected: Double)]()
        let chunk = max(2, hyperparameters.batchSize * 2)
        var start = 0
        while start < indices.count {
            let part = indices[start..<min(start + chunk, indices.count)].map { data.rows[$0] }
            let logp = try scorer.logProbabilities(part.flatMap { [$0.chosen, $0.rejected] }, parameters: parameters,
                                                   layout: layout, lengthNormalized: hyperparameters.lengthNormalized)
            for r in 0..<part.count { out.append((logp[2 * r], logp[2 * r + 1])) }
            start += chunk
        }
        return out
    }

    /// Held-out losses, accuracies and mean margin under θ (nil: θ is the reference itself, so Δ ≡ 0).
    func evaluate(parameters: [Float]?, layout: LoRAParameterLayout,
                  reference: [(chosen: Double, rejected: Double)]) throws -> Evaluation {
        let k = objectiveCount, heldOut = data.heldOutIndices, rows = data.rows
        guard !heldOut.isEmpty else { return Evaluation(losses: [], accuracies: [], logRatioAccuracies: [], meanMargin: 0) }
        let policy = try parameters.map { try logProbabilities(rows: heldOut, parameters: $0, layout: layout) }
            ?? heldOut.map { reference[$0] }
        let margins = heldOut.enumerated().map { n, r in
            PreferenceLabelBatch.margin(policyLogProbA: policy[n].chosen, policyLogProbB: policy[n].rejected,
                                        referenceLogProbA: reference[r].chosen, referenceLogProbB: reference[r].rejected)
        }
        let labels = try PreferenceLabelBatch(rows: heldOut.map { rows[$0].labels })
        let evaluation = try labels.evaluate(margins: margins, beta: hyperparameters.beta)
        var correct = [Double](repeating: 0, count: k), ratioCorrect = [Double](repeating: 0, count: k)
        var labelled = [Int](repeating: 0, count: k)
        for (n, r) in heldOut.enumerated() {
            for i in 0..<k where rows[r].labels[i] != .tie {
                labelled[i] += 1
                correct[i] += Self.agreement(margins[n], rows[r].labels[i])
                ratioCorrect[i] += Self.agreement(policy[n].chosen - policy[n].rejected, rows[r].labels[i])
            }
        }
        let accuracy: [Double?] = (0..<k).map { labelled[$0] == 0 ? nil : correct[$0] / Double(labelled[$0]) }
        let ratio: [Double?] = (0..<k).map { labelled[$0] == 0 ? nil : ratioCorrect[$0] / Double(labelled[$0]) }
        return Evaluation(losses: evaluation.losses, accuracies: accuracy, logRatioAccuracies: ratio,
                          meanMargin: margins.reduce(0, +) / Double(margins.count))
    }

    /// 1 when Δ has the label's sign, ½ when Δ = 0, else 0.
    static func agreement(_ margin: Double, _ label: PreferenceLabel) -> Double {
        if margin == 0 { return 0.5 }
        return (margin > 0) == (label == .prefersA) ? 1 : 0
    }
}
