/// Everything a tokenizer needs, as a model file describes it (GGUF's `tokenizer.*` keys).
///
/// Tokenizers does not read files: a loader (the GGUF module, a JSON fixture) fills this in.
/// A loader should pass llama.cpp's defaults for keys the file lacks: `Model.defaultAddBOS(pre:)`,
/// `defaultAddEOS`, `defaultAddSpacePrefix` (a `llama` vocabulary adds BOS and a space prefix
/// unless told otherwise; the initializer's own defaults are all `false`).
public struct TokenizerVocabulary: Sendable {
    /// `tokenizer.ggml.model`.
    public enum Model: String, Sendable {
        /// Byte-level BPE with ranked merges (GPT-2, SmolLM2, Qwen2, Llama 3, …; `pre` chooses the
        /// pre-tokenizer, docs/TOKENIZERS.md lists the values supported).
        case gpt2
        /// SentencePiece-style BPE: merges chosen by token score, byte fallback tokens `<0xNN>` (Llama 2, Gemma).
        case llama
    }

    public var model: Model
    /// `tokenizer.ggml.pre`: the pre-tokenizer of a `gpt2` vocabulary (for example `smollm`, `qwen2`,
    /// `llama-bpe`); nil means llama.cpp's "default". Unused by `llama` vocabularies.
    public var pre: String?
    public var tokens: [String]
    public var scores: [Float]?
    /// Per token: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    public var tokenTypes: [Int32]?
    /// `gpt2` only: "left right" pairs, highest priority first.
    public var merges: [String]?
    public var bosID: Int?
    public var eosID: Int?
    public var unknownID: Int?
    public var paddingID: Int?
    public var addBOS: Bool
    public var addEOS: Bool
    public var addSpacePrefix: Bool
    /// `tokenizer.chat_template` (a Jinja template), if the model has one.
    public var chatTemplate: String?
    /// The model family's conversation format, for a file without a `chatTemplate` Raconteur recognises
    /// (`ChatTemplate.detect`); nil when the loader does not know the family.
    public var chatTemplateFallback: ChatTemplate?
    /// Texts of the model family's end-of-turn tokens, most specific first; nil when the loader does not know
    /// the family.
    public var endOfTurnTexts: [String]?
    /// `general.name`: llama.cpp gives some models' special tokens the attribute of removing the
    /// blanks next to them in the text by this name (Phi-3's; see `Tokenizer.blankStrippingTokens`).
    public var modelName: String?

    public init(
        model: Model,
        pre: String? = nil,
        tokens: [String],
        scores: [Float]? = nil,
        tokenTypes: [Int32]? = nil,
        merges: [String]? = nil,
        bosID: Int? = nil,
        eosID: Int? = nil,
        unknownID: Int? = nil,
        paddingID: Int? = nil,
        addBOS: Bool = false,
        addEOS: Bool = false,
        addSpacePrefix: Bool = false,
        chatTemplate: String? = nil,
        chatTemplateFallback: ChatTemplate? = nil,
        endOfTurnTexts: [String]? = nil,
        modelName: String? = nil
    ) {
        self.model = model
        self.pre = pre
        self.tokens = tokens
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.paddingID = paddingID
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
        self.chatTemplate = chatTemplate
        self.chatTemplateFallback = chatTemplateFallback
        self.endOfTurnTexts = endOfTurnTexts
        self.modelName = modelName
    }
}

extension TokenizerVocabulary.Model {
    /// llama.cpp's value when a GGUF file has no `tokenizer.ggml.add_bos_token` and the
    /// pre-tokenizer does not change it (see `defaultAddBOS(pre:)`).
    public var defaultAddBOS: Bool { self == .llama }
    /// llama.cpp's value when a GGUF file has no `tokenizer.ggml.add_bos_token`: on for `llama`, and
    /// for the `gpt2` pre-tokenizers that turn it on (Llama 3's `llama-bpe` and its aliases).
    public func defaultAddBOS(pre: String?) -> Bool {
        switch self {
        case .llama: return true
        case .gpt2: return PreTokenizer.profile(pre: pre)?.addsBOSByDefault ?? false
        }
    }
    /// llama.cpp's value when a GGUF file has no `tokenizer.ggml.add_eos_token`.
    public var defaultAddEOS: Bool { false }
    /// llama.cpp's value when a GGUF file has no `tokenizer.ggml.add_space_prefix`.
    public var defaultAddSpacePrefix: Bool { self == .llama }
}

/// Token types as GGUF stores them (`tokenizer.ggml.token_type`).
enum TokenType: Int32 {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}
