import GGUF
import Tokenizers

extension TokenizerVocabulary {
    /// The `tokenizer.ggml.*` section of a model file, with the conversation format of its family
    /// (`general.architecture` in `ArchitectureRegistry`) when that is known.
    public init(gguf file: GGUFFile) throws {
        let kind = try file.string("tokenizer.ggml.model")
        guard let model = Model(rawValue: kind) else {
            throw ModelError.invalidMetadata(key: "tokenizer.ggml.model", reason: Self.unsupportedModelReason(kind))
        }
        let pre = try file.optionalString("tokenizer.ggml.pre")
        // A vocabulary-only file may lack the key; its tokenizer then has no family.
        let family = ((try? file.optionalString("general.architecture")) ?? nil).flatMap(ArchitectureRegistry.architecture(named:))
        func optional<T>(_ key: String, _ read: (String) throws -> T) throws -> T? {
            file.metadata[key] == nil ? nil : try read(key)
        }
        self.init(
            model: model,
            pre: pre,
            tokens: try file.stringArray("tokenizer.ggml.tokens"),
            scores: try optional("tokenizer.ggml.scores", file.floatArray),
            tokenTypes: try optional("tokenizer.ggml.token_type", file.intArray).map { $0.map { Int32(truncatingIfNeeded: $0) } },
            merges: try optional("tokenizer.ggml.merges", file.stringArray),
            bosID: try file.optionalInt("tokenizer.ggml.bos_token_id"),
            eosID: try file.optionalInt("tokenizer.ggml.eos_token_id"),
            unknownID: try file.optionalInt("tokenizer.ggml.unknown_token_id"),
            paddingID: try file.optionalInt("tokenizer.ggml.padding_token_id"),
            // llama.cpp's defaults when the key is absent: SentencePiece vocabularies and Llama 3's add BOS,
            // other byte-level ones do not.
            addBOS: try file.optionalBool("tokenizer.ggml.add_bos_token") ?? model.defaultAddBOS(pre: pre),
            addEOS: try file.optionalBool("tokenizer.ggml.add_eos_token") ?? false,
            addSpacePrefix: try file.optionalBool("tokenizer.ggml.add_space_prefix") ?? (model == .llama),
            chatTemplate: try file.optionalString("tokenizer.chat_template"),
            chatTemplateFallback: family?.chatTemplateFallback,
            endOfTurnTexts: family?.endOfTurnTokens,
            modelName: (try? file.optionalString("general.name")) ?? nil
        )
    }

    /// Why a `tokenizer.ggml.model` other than gpt2 and llama is refused, naming the algorithm.
    static func unsupportedModelReason(_ kind: String) -> String {
        let algorithm: String
        switch kind {
        case "bert": algorithm = "WordPiece (BERT)"
        case "t5": algorithm = "Unigram (T5, XLM-RoBERTa)"
        case "rwkv": algorithm = "RWKV's trie tokenizer"
        case "plamo2": algorithm = "PLaMo-2's tokenizer"
        case "gemma4": algorithm = "Gemma 4's BPE over raw UTF-8 with \u{2581} for blanks"
        case "none", "no_vocab": algorithm = "no vocabulary"
        default: algorithm = "unknown"
        }
        return "'\(kind)' (\(algorithm)) is not a supported tokenizer; supported: gpt2 (byte-level BPE), llama (SentencePiece BPE)"
    }
}

extension Tokenizer {
    /// The tokenizer a model file describes.
    public convenience init(gguf file: GGUFFile) throws {
        try self.init(TokenizerVocabulary(gguf: file))
    }
}
