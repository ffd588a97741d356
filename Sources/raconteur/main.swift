import ArgumentParser

struct Raconteur: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raconteur",
        abstract: "A CPU inference server for quantized transformers, steerable per request and re-aligned by RACO.",
        subcommands: [ServeCommand.self, GenerateCommand.self, ScoreCommand.self, PerplexityCommand.self,
                      InspectCommand.self, AdapterInitCommand.self, AlignCommand.self, ModelsCommand.self, PullCommand.self]
    )
}

Raconteur.main()
