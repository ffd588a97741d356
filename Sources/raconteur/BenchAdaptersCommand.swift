import ArgumentParser
import Dispatch
import Foundation
import Model

/// The cost of serving through adapters: decode steps of a batch with every row on the same adapter mixture,
/// against the same steps on the base model, interleaved and repeated (medians), as time per generated token.
struct BenchAdaptersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-adapters",
        abstract: "Measures the per-token cost of a LoRA mixture against the base model (batched decode steps)."
    )

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "LoRA rank of each adapter (on every projection).") var rank: Int = 16
    @Option(name: .customLong("mixture"), help: "Adapters in the mixture.") var mixtureSize: Int = 2
    @Option(help: "Batch sizes to measure, comma-separated.") var batch: String = "1,4"
    @Option(help: "Decode steps per measurement.") var steps: Int = 64
    @Option(help: "Measurement pairs per configuration (medians are reported).") var repeats: Int = 5
    @Option(help: "Write the results as JSON here.") var json: String?
    @Flag(name: .customLong("float32"), help: "Read the adapters' F32 matrices instead of the 8-bit copies the server uses.")
    var float32 = false

    struct Row: Codable {
        var batch: Int
        var baseMillisecondsPerToken: Double
        var adapterMillisecondsPerToken: Double
        var overhead: Double
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
            for m in adapter.matrices.values { for k in 0..<(m.outputs * m.rank) { m.b[k] = Float(k % 7) * 1e-3 } }
            if !float32 { adapter.prepareForServing() }   // as the registry serves it
            return AdapterTerm(adapter: adapter, scale: 1 / Float(mixtureSize))
        }
        let prompt = Array(1...16)
        var rows: [Row] = []
        for b in batches {
            /// Seconds per decode step of `b` sequences on `terms`, after a 16-token prefill each.
            func measure(_ terms: [AdapterTerm]) throws -> Double {
                let caches = (0..<b).map { _ in model.makeCache(capacity: prompt.count + steps + 1) }
                var prefill = ForwardBatch()
                for s in 0..<b { prefill.append(sequence: s, tokens: prompt, startingAt: 0, logitsForLast: true, adapters: terms) }
                try model.forward(prefill, caches: caches) { _ in }
                let start = DispatchTime.now().uptimeNanoseconds
                for step in 0..<steps {
                    var decode = ForwardBatch()
                    for s in 0..<b {
                        decode.append(sequence: s, tokens: [(step * 31 + s) % 1000 + 10], startingAt: prompt.count + step,
                                      logitsForLast: true, adapters: terms)
                    }
                    try model.forward(decode, caches: caches) { _ in }
                }
                return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(steps)
            }
            _ = try measure([]); _ = try measure(mixture)   // warm-up
            // Pairs measured back to back, in alternating order, so that the host's slow phases (this is a shared
            // machine) fall on both sides; the overhead is the median of the pairs' ratios.
            var base: [Double] = [], adapted: [Double] = []
            for i in 0..<repeats {
                if i % 2 == 0 {
                    base.append(try measure([]))
                    adapted.append(try measure(mixture))
                } else {
                    adapted.append(try measure(mixture))
                    base.append(try measure([]))
                }
            }
            let baseMs = median(base) * 1000 / Double(b), adaptedMs = median(adapted) * 1000 / Double(b)
            let row = Row(batch: b, baseMillisecondsPerToken: baseMs, adapterMillisecondsPerToken: adaptedMs,
                          overhead: median(zip(adapted, base).map { $0 / $1 }) - 1)
            rows.append(row)
            print(String(format: "batch %d: base %.3f ms/token, %d×rank-%d mixture %.3f ms/token: overhead %+.1f%%",
                         b, baseMs, mixtureSize, rank, adaptedMs, row.overhead * 100))
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
