import CommandLineSupport
import ArgumentParser
import Foundation
import Model

/// Training throughput: forward + backward of batches of (prompt, response) pairs through SequenceScorer with a
/// LoRA adapter on every projection.
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-train",
        abstract: "Measures LoRA training throughput (forward + backward tokens/s) on a model."
    )

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "LoRA rank (adapter on attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down).") var rank: Int = 16
    @Option(help: "LoRA alpha.") var alpha: Float = 32
    @Option(help: "Tokens to process in the measured steps (rounded up to whole batches).") var tokens: Int = 1024
    @Option(help: "Sequences per batch.") var batch: Int = 4
    @Option(name: .customLong("sequence-length"), help: "Tokens per sequence (prompt + response).") var sequenceLength: Int = 64
    @Option(name: .customLong("prompt-length"), help: "Prompt tokens per sequence; the rest is the scored response.") var promptLength: Int = 32
    @Option(help: "Unmeasured warm-up steps.") var warmup: Int = 1

    func run() throws {
        guard rank >= 1, batch >= 1, tokens >= 1, warmup >= 0 else { throw ValidationError("--rank, --batch and --tokens must be positive") }
        guard promptLength >= 1, sequenceLength > promptLength else {
            throw ValidationError("need 1 ≤ --prompt-length < --sequence-length")
        }
        guard modelOptions.threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        let model: TransformerModel
        let path = try modelOptions.modelPath()
        do { model = try TransformerModel(path: path, threads: 1) } catch {
            throw CommandFailure("cannot load \(path): \(error)")
        }
        let config = model.config
        let loadStart = Date()
        let scorer = SequenceScorer<Float>(model: model, threads: modelOptions.threads)
        printError("dequantised the frozen weights in \(String(format: "%.1f", Date().timeIntervalSince(loadStart))) s")

        // An adapter with B ≠ 0 (a fresh one has B = 0, which would not change the work but hides nothing either).
        let layout = LoRAParameterLayout(config: config, rank: rank, alpha: alpha, projections: Projection.allCases)
        var state: UInt64 = 42
        func uniform() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
        var theta = [Float](repeating: 0, count: layout.count)
        for i in theta.indices { theta[i] = uniform() * 0.02 }
        var gradient = [Float](repeating: 0, count: layout.count)

        func makeBatch() -> [SequencePair] {
            (0..<batch).map { _ in
                let seq = (0..<sequenceLength).map { _ in Int(Float(config.vocabularySize - 1) * (uniform() + 1) / 2) }
                return SequencePair(prompt: Array(seq.prefix(promptLength)), response: Array(seq.dropFirst(promptLength)))
            }
        }
        let tokensPerStep = batch * sequenceLength
        let steps = (tokens + tokensPerStep - 1) / tokensPerStep
        for _ in 0..<warmup {
            let pairs = makeBatch()
            _ = try scorer.forward(pairs, parameters: theta, layout: layout)
            try scorer.backward([Double](repeating: 1, count: batch), into: &gradient)
        }
        var forwardSeconds = 0.0, backwardSeconds = 0.0, referenceSeconds = 0.0
        let cpuStart = Self.processCPUSeconds()
        var trainingCPU = 0.0
        for step in 0..<steps {
            let pairs = makeBatch()
            let c0 = Self.processCPUSeconds()
            let t0 = Date()
            _ = try scorer.forward(pairs, parameters: theta, layout: layout)
            let t1 = Date()
            try scorer.backward([Double](repeating: 1, count: batch), into: &gradient)
            let t2 = Date()
            trainingCPU += Self.processCPUSeconds() - c0
            _ = try scorer.logProbabilities(pairs, parameters: theta, layout: layout)
            let t3 = Date()
            forwardSeconds += t1.timeIntervalSince(t0)
            backwardSeconds += t2.timeIntervalSince(t1)
            referenceSeconds += t3.timeIntervalSince(t2)
            printError("step \(step + 1)/\(steps): forward \(ms(t1.timeIntervalSince(t0))), backward \(ms(t2.timeIntervalSince(t1))), "
                       + "reference forward \(ms(t3.timeIntervalSince(t2)))")
        }
        let cpu = Self.processCPUSeconds() - cpuStart
        let total = Double(steps * tokensPerStep)
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
            .split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        print("model: \(modelOptions.model) (\(config.architecture.rawValue), \(config.blockCount) blocks, d=\(config.embeddingLength))")
        print("adapter: rank \(rank) on all 7 projections, \(layout.count) parameters; threads: \(modelOptions.threads)")
        print("batches: \(steps) × \(batch) sequences × \(sequenceLength) tokens (prompt \(promptLength), response \(sequenceLength - promptLength))")
        print("forward \(String(format: "%.2f", forwardSeconds)) s, backward \(String(format: "%.2f", backwardSeconds)) s, "
              + "reference forward (no activations) \(String(format: "%.2f", referenceSeconds)) s")
        print("load average: \(load); process CPU time \(String(format: "%.2f", cpu)) s "
              + "(training steps \(String(format: "%.2f", trainingCPU)) s, including the pool's spin-waits)")
        print("reference forward: \(String(format: "%.1f", total / referenceSeconds)) tokens/s")
        print("training (forward + backward): \(String(format: "%.1f", total / (forwardSeconds + backwardSeconds))) tokens/s")
        print("training per CPU-second: \(String(format: "%.1f", total / trainingCPU)) tokens/s "
              + "(what each core achieves when it gets to run; the wall-clock figure above is what counts)")
    }

    static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private func ms(_ seconds: Double) -> String { String(format: "%.0f ms", seconds * 1000) }
}
