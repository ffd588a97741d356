import CommandLineSupport
import ArgumentParser
import Dispatch
import Foundation
import Model

/// The cost of serving through adapters: decode steps of a batch with every row on the same adapter mixture,
/// against the same steps on the base model, as time per generated token.
///
/// This is a shared VM whose speed moves by ±15 % over seconds, so the two are measured step by step: each round
/// prefills one set of sequences and then times one base step and one mixture step of them back to back (at the
/// same position), in alternating order, `steps` times. The overhead is the median over all pairs of the ratio of the two
/// step times; a slow phase of the host lasts many steps and so falls on both sides of a pair.
struct BenchAdaptersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-adapters",
        abstract: "Measures the per-token cost of a LoRA mixture against the base model (batched decode steps)."
    )

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "LoRA rank of each adapter (on every projection).") var rank: Int = 16
    @Option(name: .customLong("mixture"), help: "Adapters in the mixture.") var mixtureSize: Int = 2
    @Option(help: "Batch sizes to measure, comma-separated.") var batch: String = "1,4"
    @Option(help: "Decode step pairs per round.") var steps: Int = 64
    @Option(help: "Rounds (fresh sequences each) per batch size.") var repeats: Int = 5
    @Option(help: "Write the results as JSON here.") var json: String?
    @Flag(name: .customLong("float32"), help: "Read the adapters' F32 matrices instead of the 8-bit copies the server uses.")
    var float32 = false
    @Option(help: "Run only one side's steps, 'base' or 'mixture' (to profile it; reports no overhead).")
    var only: String?

    struct Row: Codable {
        var batch: Int
        var pairs: Int
        var baseMillisecondsPerToken: Double
        var adapterMillisecondsPerToken: Double
        /// Median over step pairs of mixture / base − 1.
        var overhead: Double
        /// The 25th and 75th percentiles of the pairs' overheads.
        var overheadQuartiles: [Double]
    }

    func run() throws {
        let batches = try batch.split(separator: ",").map { part -> Int in
            guard let b = Int(part), b >= 1 else { throw ValidationError("--batch: '\(part)' is not a batch size") }
            return b
        }
        guard (1...64).contains(rank), mixtureSize >= 1, steps >= 1, repeats >= 1 else {
            throw ValidationError("need 1 ≤ --rank ≤ 64 and positive --mixture, --steps, --repeats")
        }
        let (model, _) = try modelOptions.load()
        let config = model.config
        let mixture = (0..<mixtureSize).map { i -> AdapterTerm in
            let adapter = LoRAAdapter.initialised(config: config, rank: rank, alpha: Float(rank), projections: Projection.allCases,
                                                  seed: UInt64(i + 1))
            for (_, m) in adapter.orderedMatrices { for k in 0..<(m.outputs * m.rank) { m.b[k] = Float(k % 7) * 1e-3 } }
            if !float32 { adapter.prepareForServing() }   // as the registry serves it
            return AdapterTerm(adapter: adapter, scale: 1 / Float(mixtureSize))
        }
        let prompt = Array(1...16)
        guard only == nil || only == "base" || only == "mixture" else { throw ValidationError("--only: 'base' or 'mixture'") }
        var rows: [Row] = []
        for b in batches {
            /// `b` fresh sequences after a 16-token prefill each; `step(terms, i)` times decode step i on `terms` in
            /// seconds. Both sides step the same sequences (each overwrites position i's keys and values): the same
            /// memory and attention lengths for both, since where the caches land moved a side's time by ~2 %.
            func sequences() throws -> (_ terms: [AdapterTerm], _ step: Int) throws -> Double {
                let caches = (0..<b).map { _ in model.makeCache(capacity: prompt.count + steps + 1) }
                var prefill = ForwardBatch()
                for s in 0..<b { prefill.append(sequence: s, tokens: prompt, startingAt: 0, logitsForLast: true, adapters: []) }
                try model.forward(prefill, caches: caches) { _ in }
                return { terms, step in
                    var decode = ForwardBatch()
                    for s in 0..<b {
                        decode.append(sequence: s, tokens: [(step * 31 + s) % 1000 + 10], startingAt: prompt.count + step,
                                      logitsForLast: true, adapters: terms)
                    }
                    let start = DispatchTime.now().uptimeNanoseconds
                    try model.forward(decode, caches: caches) { _ in }
                    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                }
            }
            var base: [Double] = [], adapted: [Double] = []
            for round in 0...repeats {   // round 0 warms up and is not kept
                let step = try sequences()
                let baseStep = { try step([], $0) }, adaptedStep = { try step(mixture, $0) }
                for step in 0..<steps {
                    let baseSeconds: Double, adaptedSeconds: Double
                    if let only {
                        baseSeconds = only == "base" ? try baseStep(step) : 1
                        adaptedSeconds = only == "mixture" ? try adaptedStep(step) : 1
                    } else if (round + step) % 2 == 0 {
                        baseSeconds = try baseStep(step)
                        adaptedSeconds = try adaptedStep(step)
                    } else {
                        adaptedSeconds = try adaptedStep(step)
                        baseSeconds = try baseStep(step)
                    }
                    if round > 0 { base.append(baseSeconds); adapted.append(adaptedSeconds) }
                }
            }
            if let only {
                let times = only == "base" ? base : adapted
                print(String(format: "batch %d: %@ only, %.3f ms/token (%d steps)", b, only, median(times) * 1000 / Double(b), times.count))
                continue
            }
            let ratios = zip(adapted, base).map { $0 / $1 - 1 }.sorted()
            let row = Row(batch: b, pairs: ratios.count,
                          baseMillisecondsPerToken: median(base) * 1000 / Double(b),
                          adapterMillisecondsPerToken: median(adapted) * 1000 / Double(b),
                          overhead: median(ratios),
                          overheadQuartiles: [ratios[ratios.count / 4], ratios[ratios.count * 3 / 4]])
            rows.append(row)
            print(String(format: "batch %d: base %.3f ms/token, %d×rank-%d mixture %.3f ms/token: overhead %+.1f%% (quartiles %+.1f%%, %+.1f%%; %d step pairs)",
                         b, row.baseMillisecondsPerToken, mixtureSize, rank, row.adapterMillisecondsPerToken,
                         row.overhead * 100, row.overheadQuartiles[0] * 100, row.overheadQuartiles[1] * 100, row.pairs))
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(rows).write(to: URL(fileURLWithPath: json))
        }
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
