import Adapters
import CommandLineSupport
import ArgumentParser
import Foundation
import Engine
import GGUF
import Model

/// Writes a new LoRA adapter file for a model: A random, B zero (the base model exactly) unless
/// `--random-b` gives B random entries of that size, which makes a visibly different adapter for tests.
struct AdapterInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adapter-init",
        abstract: "Write a fresh LoRA adapter file (llama.cpp's GGUF layout) for a model."
    )

    @Option(help: "Base model: a GGUF file or a catalogue name.") var model: String
    @Option(help: "Output adapter file.") var out: String
    @Option(help: "LoRA rank (1...64).") var rank: Int = 8
    @Option(help: "LoRA alpha (the delta is scaled by alpha / rank).") var alpha: Float?
    @Option(help: "Projections, comma-separated (attn_q,attn_k,attn_v,attn_output,ffn_gate,ffn_up,ffn_down).")
    var projections: String = Projection.allCases.map(\.rawValue).joined(separator: ",")
    @Option(name: .customLong("random-b"), help: "Standard deviation of random B entries (0: B = 0).") var randomB: Float = 0
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Objectives recorded in the metadata, comma-separated (with --weights: a trade-off grid point).")
    var objectives: String?
    @Option(help: "Weight vector recorded in the metadata, comma-separated, one per objective.") var weights: String?
    @Option(name: .customLong("trained-version"), help: "Version recorded in the metadata.") var trainedVersion: Int = 1

    func run() throws {
        guard (1...AdapterFile.maxRank).contains(rank) else { throw ValidationError("--rank must be in 1...\(AdapterFile.maxRank)") }
        let targets = try projections.split(separator: ",").map { name -> Projection in
            guard let p = Projection(rawValue: String(name)) else { throw ValidationError("unknown projection '\(name)'") }
            return p
        }
        let file = try GGUFFile(path: ModelCatalogue.resolve(model))
        let config = try ModelConfig(gguf: file)
        let adapter = LoRAAdapter.initialised(config: config, rank: rank, alpha: alpha ?? Float(rank),
                                              projections: targets, seed: seed)
        if randomB > 0 {
            var rng = RandomSource(seed: seed &+ 1)
            for (_, m) in adapter.orderedMatrices {
                for i in 0..<(m.outputs * m.rank) {
                    // Box–Muller from two uniforms.
                    let u1 = max(rng.nextUnit(), 1e-12), u2 = rng.nextUnit()
                    m.b[i] = Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)) * randomB
                }
            }
        }
        let names = objectives?.split(separator: ",").map(String.init) ?? []
        let vector = try weights?.split(separator: ",").map { part -> Double in
            guard let w = Double(part), w.isFinite, w >= 0 else { throw ValidationError("--weights: '\(part)' is not a weight ≥ 0") }
            return w
        } ?? []
        guard names.count == vector.count else { throw ValidationError("--objectives and --weights need one weight per objective") }
        let metadata = AdapterMetadata(objectives: names, weights: vector, version: trainedVersion,
                                       baseFingerprint: BaseModelFingerprint.of(file))
        try AdapterFile.write(adapter, metadata: metadata,
                              architecture: config.architecture.rawValue, to: out)
        print("wrote \(out): rank \(rank), \(adapter.matrices.count) projections, \(adapter.parameterCount) parameters")
    }
}
