import CommandLineSupport
import ArgumentParser
import Engine
import Foundation
import Model
import Tokenizers

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Teacher-forced log-probabilities of a continuation given a prompt."
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var adapterOptions: AdapterOptions
    @Option(help: "Prompt text.") var prompt: String
    @Option(help: "Continuation text to score.") var continuation: String
    @Option(help: "Alternatives to list per token.") var top: Int = 0

    func run() throws {
        let (model, tokenizer) = try modelOptions.load()
        let promptTokens = tokenizer.encode(prompt)
        let continuationTokens = tokenizer.encode(continuation, addSpecialTokens: false)
        guard !promptTokens.isEmpty, !continuationTokens.isEmpty else {
            throw ValidationError("prompt and continuation must both tokenize to at least one token")
        }
        let all = promptTokens + continuationTokens
        let scores = try Evaluation.teacherForcedLogprobs(model: model, tokens: all, scoreFrom: promptTokens.count, topCount: top,
                                                          adapters: try adapterOptions.load(for: model))
        var total = 0.0
        for s in scores {
            total += Double(s.logprob)
            let piece = String(decoding: tokenizer.tokenBytes(s.token), as: UTF8.self)
            var line = String(format: "%6d %-20@ %9.4f", s.token, "\(piece.debugDescription)" as NSString, s.logprob)
            if !s.top.isEmpty { line += "  top: " + s.top.map { "\($0.token):\(String(format: "%.3f", $0.logprob))" }.joined(separator: " ") }
            print(line)
        }
        print("total: \(String(format: "%.4f", total)) over \(scores.count) tokens")
    }
}
