import ArgumentParser

/// The lab's measurements, apart from the product's commands (`raconteur`): docs/BENCHMARKS.md says how each
/// figure there was produced with these.
struct RaconteurBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raconteur-bench",
        abstract: "Raconteur's benchmarks: quantised kernels, adapter overhead, training throughput, llama-bench-style speed.",
        subcommands: [KernelBenchCommand.self, BenchAdaptersCommand.self, BenchTrainCommand.self, BenchGenerateCommand.self]
    )
}

RaconteurBench.main()
