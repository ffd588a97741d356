import CommandLineSupport
import ArgumentParser
import Engine
import Foundation
import Model
import Tokenizers

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Perplexity of a text file by llama.cpp's llama-perplexity protocol; last line: PPL = <value>."
    )

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Text file to score.") var file: String
    @Option(help: "Tokens per chunk; the second half of each chunk is scored.") var ctx: Int = 256

    func run() throws {
        guard ctx >= 4 else { throw ValidationError("--ctx must be at least 4") }
        guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure("cannot read \(file)") }
        let (model, tokenizer) = try modelOptions.load()
        let tokens = tokenizer.encode(String(decoding: data, as: UTF8.self), parseSpecialTokens: false)
        guard tokens.count >= 2 * ctx else {
            throw CommandFailure("\(file) has \(tokens.count) tokens; need at least \(2 * ctx) for --ctx \(ctx)")
        }
        let bos = tokenizer.addBOS ? tokenizer.bosID : nil
        let t0 = Date()
        let (ppl, scored) = try Evaluation.perplexity(model: model, tokens: tokens, context: ctx, bos: bos) { done, total, running in
            printError("[\(done)/\(total)] \(String(format: "%.4f", running))")
        }
        print("tokens: \(tokens.count), chunks: \(tokens.count / ctx), scored: \(scored), seconds: \(String(format: "%.1f", Date().timeIntervalSince(t0)))")
        print("PPL = \(String(format: "%.4f", ppl))")
    }
}
