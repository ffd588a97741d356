import Foundation
import Model
import Tokenizers

/// Paths relative to the package root (three levels above this file).
enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func model(_ file: String) -> String { root.appendingPathComponent("models/\(file)").path }
    static let smolLM2 = model("SmolLM2-135M-Instruct.Q4_1.gguf")
    static let gemma3 = model("gemma-3-270m-q4_k_m.gguf")
    /// Fetched for the test command (scripts/setup.sh), not for the run command: tests that need it are enabled
    /// only when it is present (a skip, which CI refuses).
    static let qwen2 = model("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
    static var hasQwen2: Bool { FileManager.default.fileExists(atPath: qwen2) }
    /// llama.cpp's reference outputs, committed under Tests/Fixtures/reference (its README says how they were made).
    static func reference(_ name: String) -> URL { root.appendingPathComponent("Tests/Fixtures/reference/\(name)") }
}

/// One loaded model per file for the whole test run; suites that use it are serialized.
final class LoadedModel: @unchecked Sendable {
    let model: TransformerModel
    let tokenizer: Tokenizer

    convenience init(path: String) throws {
        try self.init(model: TransformerModel(path: path, threads: 2))
    }

    init(model: TransformerModel) throws {
        self.model = model
        tokenizer = try Tokenizer(gguf: model.file)
    }

    static let smolLM2 = Result { try LoadedModel(path: Paths.smolLM2) }
    static let gemma3 = Result { try LoadedModel(path: Paths.gemma3) }
    /// Qwen2.5-Coder-0.5B without its tokenizer (tests that need one tokenise through `LoadedModel(path:)`).
    static let qwen2Model = Result { try TransformerModel(path: Paths.qwen2, threads: 2) }
    /// The same model with its tokenizer.
    static let qwen2 = Result { try LoadedModel(model: qwen2Model.get()) }
}

/// The llama.cpp reference file's shape (Tests/Fixtures/reference/greedy_*.json).
struct ReferenceFile: Decodable {
    struct Step: Decodable {
        let id: Int
        let logprob: Double
        let top: [[Double]]
        /// logprob gap between the reference's best and second-best tokens.
        var gap: Double { top.count > 1 ? top[0][1] - top[1][1] : .infinity }
    }
    struct Case: Decodable {
        let prompt: String
        let prompt_tokens: [Int]
        let greedy_tokens: [Int]
        let steps: [Step]
    }
    let cases: [Case]

    static func load(_ name: String) throws -> ReferenceFile {
        try JSONDecoder().decode(ReferenceFile.self, from: Data(contentsOf: Paths.reference(name)))
    }
}
