import Foundation
@testable import Model
import Testing

/// The whole loss → LoRA-parameter gradient on tiny random models of every architecture, in Float64, against
/// central finite differences of the forward-only log-probs. L = Σ_s c_s · logp_s with random c_s (what a DPO
/// loss hands backward as ∂L/∂logp_s).
@Suite(.serialized)
struct GradientCheckModelTests {
    /// Three pairs; the longest has 13 rows, longer than gemma3's window of 4.
    static let pairs = [
        SequencePair(prompt: [1, 17, 5, 42, 9], response: [63, 0, 28, 33, 12, 7, 50, 3, 11]),
        SequencePair(prompt: [2, 40], response: [8, 19, 23]),
        SequencePair(prompt: [5], response: [60, 1, 44, 2]),
    ]
    static let sequenceGradients = [0.7, -1.3, 0.4]

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("raconteur-gradcheck-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// qwen2's tiny model has q, k and v biases: frozen, they add to the forward and pass the gradient through.
    @Test(arguments: [("llama", false), ("qwen3", false), ("gemma3", false), ("qwen2", false), ("llama", true)])
    func loraGradientMatchesFiniteDifferences(architecture: String, lengthNormalized: Bool) throws {
        let shape = try #require(TinyModelTests.shapes.first { $0.architecture.rawValue == architecture })
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try TransformerModel(path: TinyModelTests.write(shape, seed: 9, to: dir), threads: 1)
        let scorer = SequenceScorer<Double>(model: model, threads: 2)
        let layout = LoRAParameterLayout(config: model.config, rank: 4, alpha: 8, projections: Projection.allCases)
        var rng = SplitMix(seed: 77)
        // B ≠ 0, or every A gradient would vanish.
        let theta = rng.doubles(layout.count, scale: 0.2)

        let logp = try scorer.forward(Self.pairs, parameters: theta, layout: layout, lengthNormalized: lengthNormalized)
        var gradient = [Double](repeating: 0, count: layout.count)
        try scorer.backward(Self.sequenceGradients, into: &gradient)
        // The forward-only pass gives the same log-probs.
        let reference = try scorer.logProbabilities(Self.pairs, parameters: theta, layout: layout, lengthNormalized: lengthNormalized)
        #expect(logp == reference)
        // A second backward on the same forward accumulates the same gradient again.
        var twice = gradient
        try scorer.backward(Self.sequenceGradients, into: &twice)
        #expect(zip(twice, gradient).allSatisfy { abs($0 - 2 * $1) <= 1e-12 * max(abs($0), 1) })

        // Entries to check: for every projection, a random layer, two A entries and two B entries.
        var indices = [Int]()
        for p in Projection.allCases {
            let layer = Int(rng.next() % UInt64(model.config.blockCount))
            let e = try #require(layout.entry(layer: layer, projection: p))
            for _ in 0..<2 {
                indices.append(e.aOffset + Int(rng.next() % UInt64(layout.rank * e.inputs)))
                indices.append(e.bOffset + Int(rng.next() % UInt64(e.outputs * layout.rank)))
            }
        }
        let numeric = try FiniteDifference.gradient(theta, indices: indices) { t in
            let lp = try scorer.logProbabilities(Self.pairs, parameters: t, layout: layout, lengthNormalized: lengthNormalized)
            return FiniteDifference.dot(Self.sequenceGradients, lp)
        }
        let analytic = indices.map { gradient[$0] }
        let error = FiniteDifference.maxRelativeError(analytic: analytic, numeric: numeric)
        let magnitude = analytic.map(abs).max() ?? 0
        print("gradient check whole model \(architecture)\(lengthNormalized ? " (length-normalised)" : ""): "
              + "\(indices.count) entries, max relative error \(String(format: "%.2e", error)), max |g| \(String(format: "%.2e", magnitude))")
        #expect(magnitude > 1e-4, "the checked gradients must not be trivially zero")
        #expect(error < 1e-6)
    }
}
