import CommandLineSupport
import ArgumentParser
import Dispatch
import Engine
import Foundation
import Model

/// Prompt processing and generation speed measured the way llama.cpp's `llama-bench` measures them, so the two
/// can run side by side (benchmarks/speed_vs_llamabench.py):
/// - `pp N`: N random tokens through the product's prefill path (`Generator.prefill`, logits for the last row);
/// - `tg N`: N single-token decode steps, each on a random token (no sampling, as llama-bench's generation test);
/// - `-d D`: before each timed run, D random tokens are prefilled untimed (llama-bench's `-d`, "depth").
/// One untimed warm-up run per test, then `repetitions` timed runs, each on a fresh cache; tok/s per run, and
/// their mean and sample standard deviation (llama-bench's `avg_ts` and `stddev_ts`).
struct BenchGenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-generate",
        abstract: "Prompt and generation tok/s as llama-bench measures them (warm, random tokens, optional depth)."
    )

    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .customShort("p"), help: "Prompt lengths, comma-separated (0: none).") var prompt: String = "512"
    @Option(name: .customShort("n"), help: "Generated tokens, comma-separated (0: none).") var generate: String = "128"
    @Option(name: .customShort("d"), help: "Depths, comma-separated: tokens already in the cache.") var depth: String = "0"
    @Option(name: .customShort("r"), help: "Timed repetitions per test.") var repetitions: Int = 5
    @Option(help: "Seed of the random tokens.") var seed: UInt64 = 1
    @Option(help: "Write the results as JSON here.") var json: String?

    struct Row: Codable {
        var test: String
        var nPrompt: Int
        var nGen: Int
        var nDepth: Int
        var samplesTokensPerSecond: [Double]
        var averageTokensPerSecond: Double
        var standardDeviation: Double

        enum CodingKeys: String, CodingKey {
            case test, nPrompt = "n_prompt", nGen = "n_gen", nDepth = "n_depth"
            case samplesTokensPerSecond = "samples_ts", averageTokensPerSecond = "avg_ts", standardDeviation = "stddev_ts"
        }
    }

    static func counts(_ list: String, option: String) throws -> [Int] {
        try list.split(separator: ",").map { part in
            guard let n = Int(part.trimmingCharacters(in: .whitespaces)), (0...131_072).contains(n) else {
                throw ValidationError("-\(option): '\(part)' is not a token count in 0...131072")
            }
            return n
        }
    }

    func run() throws {
        let prompts = try Self.counts(prompt, option: "p"), generations = try Self.counts(generate, option: "n")
        let depths = try Self.counts(depth, option: "d")
        guard (1...100).contains(repetitions) else { throw ValidationError("-r must be in 1...100") }
        let (model, tokenizer) = try modelOptions.load()
        let generator = Generator(model: model, tokenizer: tokenizer)
        var random = RandomSource(seed: seed)
        let vocabulary = UInt64(model.config.vocabularySize)
        func randomTokens(_ n: Int) -> [Int] { (0..<n).map { _ in Int(random.next() % vocabulary) } }

        /// Seconds of one timed run on a fresh cache holding `depth` untimed tokens.
        func timedRun(depth: Int, prompt: Int, generate: Int) throws -> Double {
            let capacity = depth + prompt + generate
            guard capacity <= model.config.contextLength else {
                throw ValidationError("depth + prompt + generated = \(capacity) exceeds the model's context \(model.config.contextLength)")
            }
            let cache = model.makeCache(capacity: max(1, capacity))
            if depth > 0 { try generator.prefill(randomTokens(depth), cache: cache) }
            let promptTokens = randomTokens(prompt), stepTokens = randomTokens(generate)
            let start = DispatchTime.now().uptimeNanoseconds
            if prompt > 0 { try generator.prefill(promptTokens, cache: cache) }
            for token in stepTokens {
                var batch = ForwardBatch()
                batch.append(sequence: 0, tokens: [token], startingAt: cache.count, logitsForLast: true)
                try model.forward(batch, caches: [cache]) { _ in }
            }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }

        var tests: [(prompt: Int, generate: Int, depth: Int)] = []
        for d in depths {
            for p in prompts where p > 0 { tests.append((p, 0, d)) }
            for n in generations where n > 0 { tests.append((0, n, d)) }
        }
        var rows: [Row] = []
        print("| test | depth | t/s (mean ± sd) |")
        print("|---|---|---|")
        for test in tests {
            _ = try timedRun(depth: test.depth, prompt: test.prompt, generate: test.generate)   // warm-up
            let tokens = Double(test.prompt + test.generate)
            let rates = try (0..<repetitions).map { _ in
                tokens / max(try timedRun(depth: test.depth, prompt: test.prompt, generate: test.generate), 1e-9)
            }
            let mean = rates.reduce(0, +) / Double(rates.count)
            let variance = rates.count > 1
                ? rates.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rates.count - 1) : 0
            let name = test.prompt > 0 ? "pp\(test.prompt)" : "tg\(test.generate)"
            rows.append(Row(test: name, nPrompt: test.prompt, nGen: test.generate, nDepth: test.depth,
                            samplesTokensPerSecond: rates, averageTokensPerSecond: mean, standardDeviation: variance.squareRoot()))
            print("| \(name) | \(test.depth) | \(String(format: "%.2f ± %.2f", mean, variance.squareRoot())) |")
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(rows).write(to: URL(fileURLWithPath: json))
        }
    }
}
