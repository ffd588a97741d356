import ArgumentParser
import Foundation
import Model
import Tokenizers

/// Options every command that loads a model shares.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Path to a GGUF model file.")
    var model: String = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Option(name: .long, help: "Worker threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func load() throws -> (TransformerModel, Tokenizer) {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        do {
            let m = try TransformerModel(path: model, threads: threads)
            return (m, try Tokenizer(gguf: m.file))
        } catch {
            throw CommandFailure("cannot load \(model): \(error)")
        }
    }
}

/// An error the command reports as one line on stderr, exiting non-zero.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
