import CommandLineSupport
import ArgumentParser
import Engine
import Foundation
import Model
import Tokenizers

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Stream a continuation of a prompt to stdout, then a timing line."
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var adapterOptions: AdapterOptions
    @Option(help: "Prompt text; special tokens such as <|im_start|> are parsed as such.") var prompt: String
    @Option(name: .customLong("max-tokens"), help: "Tokens to generate at most.") var maxTokens: Int = 128
    @Option(help: "Sampling temperature; 0 is greedy.") var temperature: Float = 0
    @Option(name: .customLong("top-k")) var topK: Int = 0
    @Option(name: .customLong("top-p")) var topP: Float = 1
    @Option(name: .customLong("min-p")) var minP: Float = 0
    @Option(name: .customLong("repeat-penalty")) var repeatPenalty: Float = 1
    @Option(help: "Random seed for reproducible sampling.") var seed: UInt64?
    @Option(help: "Stop sequence (repeatable).") var stop: [String] = []
    @Flag(name: .customLong("ignore-eos"), help: "Keep generating past end-of-generation tokens.") var ignoreEOS = false

    func validate() throws {
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be at least 0") }
        guard temperature >= 0 else { throw ValidationError("--temperature must be at least 0") }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
    }

    func run() throws {
        let (model, tokenizer) = try modelOptions.load()
        let generator = Generator(model: model, tokenizer: tokenizer)
        let promptTokens = tokenizer.encode(prompt)
        let request = GenerationRequest(
            promptTokens: promptTokens, maxTokens: maxTokens,
            sampling: SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP,
                                         repetitionPenalty: repeatPenalty, seed: seed),
            stop: stop, ignoreEOS: ignoreEOS, adapters: try adapterOptions.load(for: model))
        let out = FileHandle.standardOutput
        let result = try generator.generate(request) { text in out.write(Data(text.utf8)) }
        let promptRate = Double(promptTokens.count) / max(result.promptSeconds, 1e-9)
        let genRate = Double(result.tokens.count) / max(result.generationSeconds, 1e-9)
        print("\nprompt: \(promptTokens.count) tokens, \(String(format: "%.1f", promptRate)) tok/s; "
              + "generation: \(result.tokens.count) tokens, \(String(format: "%.1f", genRate)) tok/s")
    }
}
