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
    public let chatTemplate: ChatTemplate
    /// Unix time of loading, reported as `created` in /v1/models.
    public let created: Int

    public init(id: String, model: TransformerModel, tokenizer: Tokenizer) {
        self.id = id
        self.model = model
        self.tokenizer = tokenizer
        let template = try? model.file.optionalString("tokenizer.chat_template")
        chatTemplate = ChatTemplate.detect(chatTemplate: template ?? nil, tokenizer: tokenizer)
        created = Int(Date().timeIntervalSince1970)
    }

    /// Loads and checks the GGUF file off the caller's thread (it blocks for a moment on a large file).
    public static func load(path: String, threads: Int, id: String, storage: FileStorage = .resident) async throws -> ServedModel {
        try await runBlocking {
            let model = try TransformerModel(path: path, threads: threads, storage: storage)
            return ServedModel(id: id, model: model, tokenizer: try Tokenizer(gguf: model.file))
        }
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
