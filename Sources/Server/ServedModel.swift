import Dispatch
import Engine
import Foundation
import GGUF
import Model
import Tokenizers

/// A model loaded for serving: its weights, tokenizer and chat format, and the id clients name it by.
public final class ServedModel: Sendable {
    public let id: String
    public let model: TransformerModel
    public let tokenizer: Tokenizer
    /// The file's own Jinja chat template (or the `--chat-template` override); the hand-written ChatML/Gemma
    /// format only for a file without one (docs/TOKENIZERS.md, "Chat templates").
    public let chatTemplate: ChatTemplate
    /// Unix time of loading, reported as `created` in /v1/models.
    public let created: Int

    /// Throws `ChatTemplateRefused` when the template (the override, else the file's) cannot be rendered.
    public init(id: String, model: TransformerModel, tokenizer: Tokenizer, chatTemplateOverride: String? = nil) throws {
        self.id = id
        self.model = model
        self.tokenizer = tokenizer
        let source = try chatTemplateOverride ?? model.file.optionalString("tokenizer.chat_template")
        do {
            chatTemplate = try ChatTemplate.load(chatTemplate: source, tokenizer: tokenizer)
        } catch let error as TemplateError {
            throw ChatTemplateRefused(fromOverride: chatTemplateOverride != nil, error: error)
        }
        created = Int(Date().timeIntervalSince1970)
    }

    /// Loads and checks the GGUF file off the caller's thread (it blocks for a moment on a large file).
    public static func load(path: String, threads: Int, id: String, storage: FileStorage = .resident,
                            chatTemplateOverride: String? = nil) async throws -> ServedModel {
        try await runBlocking {
            let model = try TransformerModel(path: path, threads: threads, storage: storage)
            return try ServedModel(id: id, model: model, tokenizer: try Tokenizer(gguf: model.file),
                                   chatTemplateOverride: chatTemplateOverride)
        }
    }
}

/// A chat template the interpreter refuses, said so that the person starting the server knows what to do.
public struct ChatTemplateRefused: Error, CustomStringConvertible {
    public let fromOverride: Bool
    public let error: TemplateError

    public var description: String {
        fromOverride
            ? "the chat template given with --chat-template / model.chat_template cannot be used: \(error)"
            : "the model's own chat template (tokenizer.chat_template) cannot be used: \(error); "
              + "pass --chat-template FILE (or model.chat_template in the configuration) with a template to use instead"
    }
}

/// Runs blocking work (model loading, teacher-forced scoring) on a Dispatch thread, so it never holds one of
/// Swift concurrency's few cooperative threads.
func runBlocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            continuation.resume(with: Result { try work() })
        }
    }
}
