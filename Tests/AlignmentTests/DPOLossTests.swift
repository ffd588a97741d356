import Foundation
import Testing
@testable import Alignment

/// The per-objective DPO algebra (docs/RACO.md, "Per-objective DPO loss" and "One backward pass for all objectives").
struct DPOLossTests {
    func randomBatch(rows: Int, objectives: Int, _ random: inout SeededGenerator) throws -> PreferenceLabelBatch {
        try PreferenceLabelBatch(rows: (0..<rows).map { _ in
            (0..<objectives).map { _ in PreferenceLabel.allCases.randomElement(using: &random)! }
        })
    }

    /// ∂L_i/∂Δ_row against central differences of L_i in Float64 (ties included in the batch).
    @Test(arguments: [0.2, 1.3])
    func marginGradientsMatchFiniteDifferences(_ beta: Double) throws {
        var random = SeededGenerator(seed: 20)
        for _ in 0..<20 {
            let batch = try randomBatch(rows: 7, objectives: 3, &random)
            let margins = random.normalVector(7, scale: 4)
            let evaluation = try batch.evaluate(margins: margins, beta: beta)
            let step = 1e-5
            for row in 0..<7 {
                var up = margins, down = margins
                up[row] += step
                down[row] -= step
                let lossesUp = try batch.evaluate(margins: up, beta: beta).losses
                let lossesDown = try batch.evaluate(margins: down, beta: beta).losses
                for i in 0..<3 {
                    let finiteDifference = (lossesUp[i] - lossesDown[i]) / (2 * step)
                    #expect(abs(finiteDifference - evaluation.marginGradients[i][row]) <= 1e-9)
                }
            }
        }
    }

    /// L_i = −(1/n) Σ_rows log σ(β s_i Δ) written out naively (fine for moderate arguments).
    @Test func lossesMatchTheDefinition() throws {
        var random = SeededGenerator(seed: 21)
        let batch = try randomBatch(rows: 9, objectives: 2, &random)
        let margins = random.normalVector(9, scale: 3)
        let beta = 0.2
        let evaluation = try batch.evaluate(margins: margins, beta: beta)
        for i in 0..<2 {
            var expected = 0.0
            for row in 0..<9 {
                let z = beta * batch.label(row: row, objective: i).sign * margins[row]
                expected -= log(1 / (1 + exp(-z))) / 9
            }
            #expect(abs(evaluation.losses[i] - expected) <= 1e-14)
        }
    }

    /// Margins far beyond exp's range: the loss is β|Δ|/n on the wrong side and 0 on the right one,
    /// the weight −β s σ(−β s Δ)/n saturates at −β s/n or 0, and nothing overflows.
    @Test func extremeMarginsStayFinite() throws {
        let batch = try PreferenceLabelBatch(rows: [[.prefersA], [.prefersB]])
        let evaluation = try batch.evaluate(margins: [-1e4, -1e4], beta: 1)
        // Row 0 prefers A but Δ = −1e4: loss 1e4/2. Row 1 prefers B and Δ = −1e4: loss ~e^−1e4 = 0.
        #expect(evaluation.losses[0] == 5000)
        #expect(evaluation.marginGradients[0] == [-0.5, -0.0])
        #expect(evaluation.accuracies[0] == 0.5)
    }

    /// A tie adds −log σ(0) = log 2 to the mean over all n rows and nothing to the gradient; an
    /// objective that ties everywhere has loss log 2 and no accuracy.
    @Test func tiesAddLogTwoAndNoGradient() throws {
        let batch = try PreferenceLabelBatch(rows: [[.tie, .prefersA], [.tie, .tie], [.tie, .prefersB]])
        let margins = [0.7, -2.0, 3.5]
        let evaluation = try batch.evaluate(margins: margins, beta: 0.2)
        #expect(abs(evaluation.losses[0] - log(2)) <= 1e-15)
        #expect(evaluation.marginGradients[0] == [0, 0, 0])
        #expect(evaluation.accuracies[0] == nil)
        #expect(evaluation.labelledRowCounts == [0, 2])
        // Objective 1: the tie row contributes log 2 / 3 and a zero weight; n = 3 for the others.
        let expected = (StableLogistic.softplus(-0.2 * 0.7) + log(2) + StableLogistic.softplus(0.2 * 3.5)) / 3
        #expect(abs(evaluation.losses[1] - expected) <= 1e-15)
        #expect(evaluation.marginGradients[1][1] == 0)
        #expect(abs(evaluation.marginGradients[1][0] - -0.2 * StableLogistic.sigmoid(-0.14) / 3) <= 1e-16)
    }

    /// Accuracy counts, among the rows an objective labels, those where sign(Δ) = s_i; Δ = 0 misses.
    @Test func accuracyCountsAgreeingSignsAmongLabelledRows() throws {
        let batch = try PreferenceLabelBatch(rows: [
            [.prefersA, .prefersB],
            [.prefersA, .prefersB],
            [.prefersA, .tie],
            [.tie, .prefersB],
        ])
        let evaluation = try batch.evaluate(margins: [1, -2, 0, 3], beta: 0.2)
        #expect(evaluation.accuracies[0] == 1.0 / 3)   // rows 0 (hit), 1 (miss), 2 (Δ = 0: miss)
        #expect(evaluation.accuracies[1] == 1.0 / 3)   // rows 0 (miss), 1 (hit), 3 (miss)
    }

    @Test func marginIsPolicyLogRatioMinusReferenceLogRatio() {
        let margin = PreferenceLabelBatch.margin(policyLogProbA: -10, policyLogProbB: -14, referenceLogProbA: -11, referenceLogProbB: -12)
        #expect(margin == 3)
    }

    @Test func labelsDecodeFromTheirJSONNumbers() throws {
        let labels = try JSONDecoder().decode([PreferenceLabel].self, from: Data("[1, -1, 0]".utf8))
        #expect(labels == [.prefersA, .prefersB, .tie])
        #expect(throws: (any Error).self) { try JSONDecoder().decode([PreferenceLabel].self, from: Data("[2]".utf8)) }
    }

    @Test func malformedBatchesThrow() throws {
        #expect(throws: AlignmentError.self) { try PreferenceLabelBatch(rows: []) }
        #expect(throws: AlignmentError.self) { try PreferenceLabelBatch(rows: [[.tie], [.tie, .tie]]) }
        let batch = try PreferenceLabelBatch(rows: [[.prefersA]])
        #expect(throws: AlignmentError.self) { try batch.evaluate(margins: [1, 2], beta: 0.2) }
        #expect(throws: AlignmentError.invalidBeta(0)) { try batch.evaluate(margins: [1], beta: 0) }
        #expect(throws: AlignmentError.nonFinite("margin")) { try batch.evaluate(margins: [.nan], beta: 0.2) }
    }
}
