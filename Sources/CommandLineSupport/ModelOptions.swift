import Adapters
import ArgumentParser
import Foundation
import GGUF
import Model
import Tokenizers

/// Options every command that loads a model shares (the product's `raconteur` and the lab's `raconteur-bench`).
public struct ModelOptions: ParsableArguments {
    public static let modelHelp: ArgumentHelp = "A GGUF model file, or a catalogue name (`raconteur models` lists them)."
    @Option(name: .long, help: modelHelp)
    public var model: String = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Option(name: .long, help: "Worker threads (default: all cores).")
    public var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    public static let mmapHelp: ArgumentHelp =
        "Map the model file instead of reading it into memory on huge pages (starts sooner, shares the page cache; decodes slower)."
    @Flag(name: .long, help: mmapHelp) public var mmap = false

    public init() {}

    public func load() throws -> (TransformerModel, Tokenizer) {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        let path = try modelPath()
        do {
            let m = try TransformerModel(path: path, threads: threads, storage: mmap ? .mapped : .resident)
            return (m, try Tokenizer(gguf: m.file))
        } catch {
            throw CommandFailure("cannot load \(path): \(error)")
        }
    }

    /// `--model` as a file path (a catalogue name resolved, `ModelCatalogue.resolve`).
    public func modelPath() throws -> String { try ModelCatalogue.resolve(model) }
}

/// `--adapter FILE[:SCALE]`, repeatable: a LoRA mixture for one generation.
public struct AdapterOptions: ParsableArguments {
    @Option(name: .customLong("adapter"), help: "LoRA adapter file, optionally with a scale: FILE[:SCALE] (repeatable).")
    public var adapters: [String] = []

    public init() {}

    public func load(for model: TransformerModel) throws -> [AdapterTerm] {
        let fingerprint = adapters.isEmpty ? nil : BaseModelFingerprint.of(model.file)
        return try adapters.map { spec in
            var path = spec, scale: Float = 1
            if let colon = spec.lastIndex(of: ":"), let s = Float(spec[spec.index(after: colon)...]) {
                path = String(spec[..<colon])
                scale = s
            }
            do {
                let (adapter, _) = try AdapterFile.read(path: path, config: model.config, baseFingerprint: fingerprint)
                return AdapterTerm(adapter: adapter, scale: scale)
            } catch {
                throw CommandFailure("cannot load adapter \(path): \(error)")
            }
        }
    }
}

/// An error the command reports as one line on stderr, exiting non-zero.
public struct CommandFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

public func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
