import GGUF
import Tokenizers

extension TokenizerVocabulary {
    /// The `tokenizer.ggml.*` section of a model file, with the conversation format of its family
    /// (`general.architecture` in `ArchitectureRegistry`) when that is known.
    public init(gguf file: GGUFFile) throws {
        let kind = try file.string("tokenizer.ggml.model")
        guard let model = Model(rawValue: kind) else {
            throw ModelError.invalidMetadata(key: "tokenizer.ggml.model", reason: "'\(kind)' is not a supported tokenizer (gpt2, llama)")
        }
        // A vocabulary-only file may lack the key; its tokenizer then has no family.
        let family = ((try? file.optionalString("general.architecture")) ?? nil).flatMap(ArchitectureRegistry.architecture(named:))
        func optional<T>(_ key: String, _ read: (String) throws -> T) throws -> T? {
            file.metadata[key] == nil ? nil : try read(key)
        }
        self.init(
            model: model,
            pre: try file.optionalString("tokenizer.ggml.pre"),
            tokens: try file.stringArray("tokenizer.ggml.tokens"),
            scores: try optional("tokenizer.ggml.scores", file.floatArray),
            tokenTypes: try optional("tokenizer.ggml.token_type", file.intArray).map { $0.map { Int32(truncatingIfNeeded: $0) } },
            merges: try optional("tokenizer.ggml.merges", file.stringArray),
            bosID: try file.optionalInt("tokenizer.ggml.bos_token_id"),
            eosID: try file.optionalInt("tokenizer.ggml.eos_token_id"),
            unknownID: try file.optionalInt("tokenizer.ggml.unknown_token_id"),
            paddingID: try file.optionalInt("tokenizer.ggml.padding_token_id"),
            // llama.cpp's defaults when the key is absent: SentencePiece vocabularies add BOS, GPT-2 ones do not.
            addBOS: try file.optionalBool("tokenizer.ggml.add_bos_token") ?? (model == .llama),
            addEOS: try file.optionalBool("tokenizer.ggml.add_eos_token") ?? false,
            addSpacePrefix: try file.optionalBool("tokenizer.ggml.add_space_prefix") ?? (model == .llama),
            chatTemplate: try file.optionalString("tokenizer.chat_template"),
            chatTemplateFallback: family?.chatTemplateFallback,
            endOfTurnTexts: family?.endOfTurnTokens
        )
    }
}

extension Tokenizer {
    /// The tokenizer a model file describes.
    public convenience init(gguf file: GGUFFile) throws {
        try self.init(TokenizerVocabulary(gguf: file))
    }
}
