import Foundation
@testable import Model
import Testing

/// The per-objective DPO loss → LoRA-parameter gradient that the trainer uses, in Float64 on tiny random models of
/// every architecture: one backward pass with seeds ∂Δ/∂logp = ±1 and per-objective scales ∂L_i/∂Δ_r
/// (`SequenceScorer.backward(_:scales:into:)`) against central finite differences of
/// L_i(θ) = −(1/n) Σ_r log σ(β s_ir Δ_r(θ)), Δ_r = [logp(A_r) − logp(B_r)] − [ref(A_r) − ref(B_r)].
@Suite(.serialized)
struct GradientCheckDPOTests {
    /// Rows (A, B) sharing a prompt; the first is longer than gemma3's window of 4.
    static let rows: [(SequencePair, SequencePair)] = [
        (SequencePair(prompt: [1, 17, 5, 42, 9], response: [63, 0, 28, 33, 12, 7]),
         SequencePair(prompt: [1, 17, 5, 42, 9], response: [50, 3, 11])),
        (SequencePair(prompt: [2, 40], response: [8, 19, 23]), SequencePair(prompt: [2, 40], response: [60, 1, 44, 2])),
        (SequencePair(prompt: [5], response: [9]), SequencePair(prompt: [5], response: [30, 31])),
    ]
    /// s_ir for two objectives (row-major by row); a tie on row 1 of objective 1.
    static let labels: [[Double]] = [[1, -1], [-1, 0], [1, 1]]
    static let beta = 0.1

    static func logSigmoid(_ z: Double) -> Double { -(max(-z, 0) + Foundation.log1p(Foundation.exp(-abs(z)))) }
    static func sigmoid(_ z: Double) -> Double { 1 / (1 + Foundation.exp(-z)) }

    static var sequences: [SequencePair] { rows.flatMap { [$0.0, $0.1] } }

    static func margins(_ logp: [Double], _ reference: [Double]) -> [Double] {
        rows.indices.map { r in (logp[2 * r] - logp[2 * r + 1]) - (reference[2 * r] - reference[2 * r + 1]) }
    }

    static func losses(_ logp: [Double], _ reference: [Double]) -> [Double] {
        let delta = margins(logp, reference), n = Double(rows.count)
        return (0..<2).map { i in rows.indices.reduce(0) { $0 - logSigmoid(beta * labels[$1][i] * delta[$1]) / n } }
    }

    @Test(arguments: ["llama", "qwen3", "gemma3"])
    func dpoLossGradientsMatchFiniteDifferences(architecture: String) throws {
        let shape = try #require(TinyModelTests.shapes.first { $0.architecture.rawValue == architecture })
        let dir = try GradientCheckModelTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try TransformerModel(path: TinyModelTests.write(shape, seed: 13, to: dir), threads: 1)
        let scorer = SequenceScorer<Double>(model: model, threads: 2)
        let layout = LoRAParameterLayout(config: model.config, rank: 3, alpha: 6, projections: Projection.allCases)
        var rng = SplitMix(seed: 21)
        let theta = rng.doubles(layout.count, scale: 0.2)

        // π_ref = the base model, so that Δ stays moderate and σ(β s Δ) is not saturated.
        let reference = try scorer.logProbabilities(Self.sequences)
        let logp = try scorer.forward(Self.sequences, parameters: theta, layout: layout)
        let delta = Self.margins(logp, reference), n = Double(Self.rows.count)
        // ∂L_i/∂Δ_r = −β s σ(−β s Δ_r) / n, applied to both sequences of row r (the seed carries the ±).
        let scales = (0..<2).map { i in Self.rows.indices.flatMap { r -> [Double] in
            let s = Self.labels[r][i]
            let g = -Self.beta * s * Self.sigmoid(-Self.beta * s * delta[r]) / n
            return [g, g]
        } }
        let seeds = Self.rows.indices.flatMap { _ in [1.0, -1.0] }
        var fused = [[Double]](repeating: [Double](repeating: 0, count: layout.count), count: 2)
        let buffers = (0..<2).map { _ in UnsafeMutableBufferPointer<Double>.allocate(capacity: layout.count) }
        defer { buffers.forEach { $0.deallocate() } }
        for b in buffers { b.initialize(repeating: 0) }
        try scorer.backward(seeds, scales: scales, into: buffers)
        for i in 0..<2 { fused[i] = Array(buffers[i]) }

        // The fused pass equals one plain backward per objective with seeds scale · (±1).
        for i in 0..<2 {
            var separate = [Double](repeating: 0, count: layout.count)
            try scorer.backward(zip(seeds, scales[i]).map { $0 * $1 }, into: &separate)
            let scale = separate.map(abs).max() ?? 1
            #expect(zip(separate, fused[i]).allSatisfy { abs($0 - $1) <= 1e-12 * scale }, "objective \(i)")
        }

        var indices = [Int]()
        for p in Projection.allCases {
            let layer = Int(rng.next() % UInt64(model.config.blockCount))
            let e = try #require(layout.entry(layer: layer, projection: p))
            indices.append(e.aOffset + Int(rng.next() % UInt64(layout.rank * e.inputs)))
            indices.append(e.bOffset + Int(rng.next() % UInt64(e.outputs * layout.rank)))
        }
        for i in 0..<2 {
            let numeric = try FiniteDifference.gradient(theta, indices: indices) { t in
                Self.losses(try scorer.logProbabilities(Self.sequences, parameters: t, layout: layout), reference)[i]
            }
            let analytic = indices.map { fused[i][$0] }
            let error = FiniteDifference.maxRelativeError(analytic: analytic, numeric: numeric)
            print("gradient check DPO loss \(i) → LoRA, \(architecture): max relative error \(String(format: "%.2e", error))")
            #expect((analytic.map(abs).max() ?? 0) > 1e-5)
            #expect(error < 1e-6)
        }
    }
}
